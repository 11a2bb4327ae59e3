/* `aero-launch pipeline run FILE`: the checkout is checked and its image
 * built once; then each task, in dependency order and up to -j at a time, is
 * either skipped (an earlier successful run had its key and its outputs are
 * still in the store) or run as `aero-launch run` in a child process, with its
 * inputs pinned to the exact versions its producers made. What happened is
 * kept in RUNS_DIR/.pipelines/runs/<id>.json and summed up at the end. */
#include "pipeline_run.h"

#include "pipeline_state.h"

#include "canonjson.h"
#include "check_cmd.h"
#include "clock.h"
#include "error.h"
#include "file.h"
#include "image_id.h"
#include "log.h"
#include "parse.h"
#include "pipeline.h"
#include "pipeline_exec.h"
#include "redact.h"
#include "run_opts.h"
#include "runsdir.h"
#include "spawn.h"
#include "status.h"
#include "versions.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile sig_atomic_t aero_pipeline_stop;

const char *const aero_task_state_names[] = {"waiting",    "running",   "ran",
                                             "up-to-date", "would-run", "failed",
                                             "not-run",    "reused",    "stale"};

static void usage(FILE *out)
{
	fputs("Usage: aero-launch pipeline run [OPTIONS] FILE\n"
	      "\n"
	      "Runs the tasks of the pipeline FILE (doc/pipelines.md) from the pristine\n"
	      "checkout, in dependency order, each as a tracked run of its own. A task whose\n"
	      "key (image, command, config, seed, input versions) an earlier successful run\n"
	      "had is skipped and that run's outputs are used. A failed task stops what\n"
	      "needs it; the others finish.\n"
	      "\n"
	      "  -C, --repo DIR        the checkout (default: the current directory)\n"
	      "      --only TASK       run only TASK (repeatable); what it needs must be up\n"
	      "                        to date\n"
	      "      --from TASK       run TASK and every task after it, even if up to date\n"
	      "      --force           run every selected task, even if up to date\n"
	      "  -n, --dry-run         say what would run and why; run nothing (the image is\n"
	      "                        built, to know its id)\n"
	      "  -j, --jobs N          run up to N tasks at once (default 1)\n"
	      "      --allow-unpushed  run a commit that is not on its upstream\n"
	      "  -f, --file PATH       the Dockerfile, in the commit (default: Dockerfile)\n"
	      "      --tracker LIST    where each task's run goes (AERO_TRACKER)\n"
	      "      --network MODE    the tasks' containers' network (default: the engine's)\n"
	      "  -e, --env NAME[=VALUE]  a variable for every task\n"
	      "      --json            print the pipeline run's record as JSON on stdout\n"
	      "                        (the tasks' output then goes to stderr)\n"
	      "  -q, --quiet           say only what fails\n"
	      "  -h, --help            print this help and exit\n"
	      "\n"
	      "Exit status: 0 every task ran or was up to date; 81 a task failed or could\n"
	      "not run; 2 usage; 64-74 the checkout, engine or image (aero-launch(1)).\n",
	      out);
}

static void on_signal(int sig)
{
	aero_pipeline_stop = sig;
}

/* 0; 1 after --help; -status. */
static int parse_options(int argc, char **argv, struct aero_pipeline_options *o)
{
	static const struct option longopts[] = {
	        {"repo", required_argument, NULL, 'C'},
	        {"only", required_argument, NULL, 'o'},
	        {"from", required_argument, NULL, 'F'},
	        {"force", no_argument, NULL, 'x'},
	        {"dry-run", no_argument, NULL, 'n'},
	        {"jobs", required_argument, NULL, 'j'},
	        {"allow-unpushed", no_argument, NULL, 'u'},
	        {"file", required_argument, NULL, 'f'},
	        {"tracker", required_argument, NULL, 't'},
	        {"network", required_argument, NULL, 'N'},
	        {"env", required_argument, NULL, 'e'},
	        {"json", no_argument, NULL, 'J'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->repo = ".";
	o->dockerfile = "Dockerfile";
	o->jobs = 1;
	optind = 1;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+:C:nj:f:e:qh", longopts, NULL)) != -1) {
		int rc = 0;
		switch (c) {
		case 'C':
			o->repo = optarg;
			break;
		case 'o':
			rc = aero_opts_append(&o->only, &o->only_count, optarg);
			break;
		case 'F':
			o->from = optarg;
			break;
		case 'x':
			o->force = true;
			break;
		case 'n':
			o->dry_run = true;
			break;
		case 'u':
			o->allow_unpushed = true;
			break;
		case 'f':
			o->dockerfile = optarg;
			break;
		case 't':
			o->tracker = optarg;
			break;
		case 'N':
			o->network = optarg;
			break;
		case 'e':
			rc = aero_opts_append(&o->env, &o->env_count, optarg);
			break;
		case 'J':
			o->json = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'j':
			if (aero_parse_int(optarg, 1, AERO_PIPELINE_JOBS_MAX, &o->jobs) < 0) {
				aero_log_error("--jobs takes a number from 1 to %d, not '%s'",
				               AERO_PIPELINE_JOBS_MAX, optarg);
				return -AERO_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			aero_log_error(
			        "pipeline run: %s '%.*s'; see 'aero-launch pipeline run --help'",
			        c == ':' ? "a value is needed for" : "unknown option",
			        aero_arg_shown(argv[optind - 1]), argv[optind - 1]);
			return -AERO_EXIT_USAGE;
		}
		if (rc < 0) {
			aero_log_error("out of memory");
			return -AERO_EXIT_INTERNAL;
		}
	}
	if (optind + 1 != argc) {
		aero_log_error("pipeline run needs one pipeline file: aero-launch pipeline run "
		               "[OPTIONS] FILE");
		return -AERO_EXIT_USAGE;
	}
	if (o->from != NULL && o->only_count > 0) {
		aero_log_error("--only and --from both choose tasks: use one of them");
		return -AERO_EXIT_USAGE;
	}
	o->file = argv[optind];
	return 0;
}

/* Which tasks run: all, --only's, or --from's and what follows it. */
static int select_tasks(struct aero_pipeline_run *r)
{
	const struct aero_pipeline_options *o = &r->o;
	const size_t n = r->p.count;
	bool *mark = calloc(n + 1, sizeof(bool));
	if (mark == NULL)
		return aero_error_set("out of memory");
	const char *bad = NULL;
	for (size_t k = 0; k < o->only_count && bad == NULL; k++) {
		const long i = aero_pipeline_find(&r->p, o->only[k]);
		if (i < 0)
			bad = o->only[k];
		else
			mark[i] = true;
	}
	if (o->from != NULL) {
		const long i = aero_pipeline_find(&r->p, o->from);
		if (i < 0)
			bad = o->from;
		else
			aero_pipeline_downstream(&r->p, (size_t)i, mark);
	}
	for (size_t i = 0; i < n; i++) {
		r->s[i].selected = (o->only_count == 0 && o->from == NULL) || mark[i];
		r->s[i].forced = o->force || (o->from != NULL && mark[i]);
	}
	free(mark);
	if (bad != NULL)
		return aero_error_set("the pipeline %s has no task '%s'", o->file, bad);
	return 0;
}

/* The project's image, built from the commit by `aero-launch run
 * --build-only` (so that a pipeline builds exactly as a run does). */
static int build_project_image(struct aero_pipeline_run *r)
{
	const char *argv[] = {r->self,
	                      "run",
	                      "--build-only",
	                      "-q",
	                      "-C",
	                      r->o.repo,
	                      "-f",
	                      r->o.dockerfile,
	                      r->o.allow_unpushed ? "--allow-unpushed" : NULL,
	                      NULL};
	int status = 0;
	if (!r->o.quiet)
		fprintf(stderr, "aero-launch: building the image of %s\n", r->o.repo);
	if (aero_task_capture((char *const *)argv, &r->project_image, &status) < 0)
		return -AERO_EXIT_INTERNAL;
	if (status != 0) {
		aero_error_set("the image could not be built (above)");
		return -status;
	}
	if (strncmp(r->project_image, "sha256:", 7) != 0) {
		aero_error_set("the build printed no image id");
		return -AERO_EXIT_BUILD;
	}
	return 0;
}

/* Each task's image: the project's, or its own "image" as the engine has it;
 * by id, and by content for the key. */
static int find_images(struct aero_pipeline_run *r)
{
	bool project = false;
	for (size_t i = 0; i < r->p.count; i++)
		project |= r->p.tasks[i].image == NULL;
	int rc = project ? build_project_image(r) : 0;
	struct aero_engine *eng = NULL;
	if (rc == 0)
		rc = aero_engine_open(&eng);
	for (size_t i = 0; rc == 0 && i < r->p.count; i++) {
		const char *image = r->p.tasks[i].image;
		rc = aero_image_content(eng, image != NULL ? image : r->project_image,
		                        &r->s[i].image_id, &r->s[i].image_content);
		if (rc < 0)
			aero_error_set("task %s: %s", r->p.tasks[i].name, aero_error_last());
	}
	aero_engine_free(eng);
	return rc;
}

/* Reads the running tasks' output until one ends; finishes it. */
static void wait_for_tasks(struct aero_pipeline_run *r)
{
	struct pollfd fds[2 * AERO_PIPELINE_JOBS_MAX];
	size_t owner[2 * AERO_PIPELINE_JOBS_MAX];
	int which[2 * AERO_PIPELINE_JOBS_MAX];
	for (;;) {
		nfds_t n = 0;
		for (size_t i = 0; i < r->p.count; i++)
			for (int w = 0; w < 2 && r->s[i].state == RUNNING; w++)
				if (r->s[i].proc.fd[w] >= 0 &&
				    n < (nfds_t)2 * AERO_PIPELINE_JOBS_MAX) {
					fds[n] = (struct pollfd){.fd = r->s[i].proc.fd[w],
					                         .events = POLLIN};
					owner[n] = i;
					which[n++] = w;
				}
		if (aero_pipeline_stop != 0 && aero_pipeline_stop != r->forwarded) {
			/* Tasks run in process groups of their own: each gets it once. */
			r->forwarded = aero_pipeline_stop;
			for (size_t i = 0; i < r->p.count; i++)
				if (r->s[i].state == RUNNING)
					(void)kill(r->s[i].proc.pid,
					           aero_pipeline_stop == SIGINT ? SIGINT : SIGTERM);
		}
		if (n == 0) /* every running task has a pipe open until it is reaped */
			return;
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			/* poll itself failed: wait for the first task the plain way. */
			struct aero_task_slot *s = &r->s[owner[0]];
			int status = 0;
			aero_task_reap(&s->proc, &status);
			aero_task_finish(r, owner[0], status);
			return;
		}
		for (nfds_t k = 0; k < n; k++) {
			if (fds[k].revents == 0)
				continue;
			struct aero_task_slot *s = &r->s[owner[k]];
			if (aero_task_pump(&s->proc, which[k])) {
				int status = 0;
				aero_task_reap(&s->proc, &status);
				aero_task_finish(r, owner[k], status);
				return;
			}
		}
	}
}

static int schedule(struct aero_pipeline_run *r)
{
	for (;;) {
		bool changed = false, waiting_any = false;
		for (size_t k = 0; k < r->p.count; k++) {
			const size_t i = r->p.order[k];
			if (r->s[i].state != WAITING)
				continue;
			bool waiting = false;
			if (aero_task_settle(r, i, &waiting) < 0)
				return -1;
			if (r->s[i].state != WAITING)
				changed = true;
			waiting_any |= waiting;
		}
		if (r->running > 0)
			wait_for_tasks(r);
		else if (!changed)
			return waiting_any ? aero_error_set("the tasks wait on each other") : 0;
	}
}

static cJSON *run_record(const struct aero_pipeline_run *r)
{
	cJSON *record = cJSON_CreateObject();
	cJSON *tasks = cJSON_AddArrayToObject(record, "tasks");
	if (tasks == NULL || cJSON_AddStringToObject(record, "id", r->id) == NULL ||
	    cJSON_AddStringToObject(record, "pipeline", r->p.name) == NULL ||
	    cJSON_AddStringToObject(record, "file", r->o.file) == NULL ||
	    cJSON_AddBoolToObject(record, "dry_run", r->o.dry_run) == NULL) {
		cJSON_Delete(record);
		return NULL;
	}
	for (size_t k = 0; k < r->p.count; k++) {
		const size_t i = r->p.order[k];
		const struct aero_task_slot *s = &r->s[i];
		cJSON *t = cJSON_CreateObject();
		if (t == NULL || !cJSON_AddItemToArray(tasks, t) ||
		    cJSON_AddStringToObject(t, "name", r->p.tasks[i].name) == NULL ||
		    cJSON_AddStringToObject(t, "status", aero_task_state_names[s->state]) == NULL ||
		    (s->run_id != NULL ? cJSON_AddStringToObject(t, "run", s->run_id)
		                       : cJSON_AddNullToObject(t, "run")) == NULL ||
		    (s->key[0] != '\0' ? cJSON_AddStringToObject(t, "key", s->key)
		                       : cJSON_AddNullToObject(t, "key")) == NULL ||
		    (s->why != NULL && cJSON_AddStringToObject(t, "why", s->why) == NULL) ||
		    (s->started[0] != '\0' &&
		     (cJSON_AddStringToObject(t, "started", s->started) == NULL ||
		      cJSON_AddNumberToObject(t, "seconds", s->seconds) == NULL)) ||
		    (s->state == FAILED &&
		     cJSON_AddNumberToObject(t, "exit_status", s->exit_status) == NULL) ||
		    (s->inputs != NULL &&
		     !cJSON_AddItemToObject(t, "inputs", cJSON_Duplicate(s->inputs, true))) ||
		    (s->outputs != NULL &&
		     !cJSON_AddItemToObject(t, "outputs", cJSON_Duplicate(s->outputs, true)))) {
			cJSON_Delete(record);
			return NULL;
		}
	}
	return record;
}

/* The summary on stderr and, with --json, the record on stdout; the status. */
static int report(struct aero_pipeline_run *r)
{
	size_t counts[STALE + 1] = {0};
	for (size_t i = 0; i < r->p.count; i++)
		counts[r->s[i].state]++;
	cJSON *record = run_record(r);
	char *text = record != NULL ? aero_json_canonical(record) : NULL;
	if (text != NULL && !r->o.dry_run && aero_file_write_atomic(r->record_path, text) < 0)
		aero_log_warn("cannot keep the pipeline run's record: %s", aero_error_last());
	if (r->o.json && text != NULL)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(record);
	const int status = counts[FAILED] + counts[BLOCKED] > 0 ? AERO_EXIT_PIPELINE : 0;
	if (r->o.quiet && status == 0)
		return status;
	fprintf(stderr,
	        "aero-launch: pipeline %s%s %s: %zu ran, %zu up to date, %zu failed, %zu not "
	        "run%s\n",
	        r->p.name, r->o.dry_run ? " (dry run)" : ", run", r->o.dry_run ? "" : r->id,
	        counts[RAN] + counts[WOULD_RUN], counts[SKIPPED] + counts[REUSED], counts[FAILED],
	        counts[BLOCKED] + counts[STALE], r->o.dry_run ? " (would run counted as ran)" : "");
	for (size_t k = 0; k < r->p.count; k++) {
		const size_t i = r->p.order[k];
		fprintf(stderr, "  %-24s %-10s %-26s %s\n", r->p.tasks[i].name,
		        aero_task_state_names[r->s[i].state],
		        r->s[i].run_id != NULL ? r->s[i].run_id : "-",
		        r->s[i].why != NULL ? r->s[i].why : "");
	}
	return status;
}

static void run_free(struct aero_pipeline_run *r)
{
	for (size_t i = 0; r->s != NULL && i < r->p.count; i++) {
		free(r->s[i].run_id);
		free(r->s[i].why);
		free(r->s[i].image_id);
		free(r->s[i].image_content);
		cJSON_Delete(r->s[i].parts);
		cJSON_Delete(r->s[i].inputs);
		cJSON_Delete(r->s[i].outputs);
	}
	free(r->s);
	aero_pipeline_free(&r->p);
	free(r->o.only);
	free(r->o.env);
	free(r->self);
	free(r->runs);
	free(r->id);
	free(r->project_image);
	free(r->record_path);
	free(r->store_url);
	aero_store_close(r->store);
}

/* The file, the choice of tasks, the names; -status with aero_error set. */
static int prepare(struct aero_pipeline_run *r)
{
	if (aero_pipeline_load(r->o.file, &r->p) < 0)
		return -AERO_EXIT_USAGE;
	r->s = calloc(r->p.count, sizeof(*r->s));
	r->self = aero_self_path();
	r->runs = aero_runs_dir();
	r->id = aero_run_id_new();
	if (r->s == NULL || r->self == NULL || r->runs == NULL || r->id == NULL ||
	    asprintf(&r->record_path, "%s/.pipelines/runs/%s.json", r->runs, r->id) < 0) {
		r->record_path = NULL;
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	for (size_t i = 0; i < r->p.count; i++)
		(void)snprintf(r->s[i].prefix, sizeof(r->s[i].prefix), "[%s] ", r->p.tasks[i].name);
	return select_tasks(r) < 0 ? -AERO_EXIT_USAGE : 0;
}

/* The store, the images, the record's directory; -status with aero_error set. */
static int equip(struct aero_pipeline_run *r)
{
	int rc = aero_artifact_store_open(NULL, &r->store_url, &r->store);
	if (rc != 0)
		return -rc;
	rc = find_images(r);
	if (rc < 0)
		return rc;
	char *dir = aero_path_join(r->runs, ".pipelines/runs");
	rc = dir != NULL ? aero_mkdirs(dir) : aero_error_set("out of memory");
	free(dir);
	return rc < 0 ? -AERO_EXIT_INTERNAL : 0;
}

/* The checkout, before anything is built or run: pristine, on its upstream
 * unless allowed. A status, already reported. */
static int check_checkout(const struct aero_pipeline_run *r)
{
	git_repository *repo = NULL;
	struct aero_git_facts git = {0};
	const int rc = aero_check_repository(r->o.repo, r->o.allow_unpushed, &repo, &git);
	aero_git_facts_free(&git);
	git_repository_free(repo);
	return rc < 0 ? -rc : 0;
}

int aero_pipeline_run_main(int argc, char **argv)
{
	struct aero_pipeline_run r = {0};
	int rc = parse_options(argc, argv, &r.o);
	if (rc != 0) {
		free(r.o.only);
		free(r.o.env);
		return rc > 0 ? 0 : -rc;
	}
	rc = prepare(&r);
	const int checked = rc == 0 ? check_checkout(&r) : 0;
	if (rc == 0 && checked == 0)
		rc = equip(&r);
	if (rc < 0)
		aero_log_error("%s", aero_error_last());
	if (rc < 0 || checked != 0) {
		run_free(&r);
		return rc < 0 ? -rc : checked;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	if (!r.o.quiet)
		fprintf(stderr, "aero-launch: pipeline %s, run %s: %zu tasks%s\n", r.p.name, r.id,
		        r.p.count, r.o.dry_run ? " (dry run: nothing runs)" : "");
	if (schedule(&r) < 0) {
		aero_log_error("%s", aero_error_last());
		rc = AERO_EXIT_INTERNAL;
		while (r.running > 0)
			wait_for_tasks(&r);
	}
	const int status = report(&r);
	run_free(&r);
	if (aero_pipeline_stop != 0)
		return 128 + aero_pipeline_stop;
	return rc != 0 ? rc : status;
}
