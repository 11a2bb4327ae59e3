/* `aero-launch pipeline run FILE`: the checkout is checked and its image
 * built once; then each task, in dependency order and up to -j at a time, is
 * either skipped (an earlier successful run had its key and its outputs are
 * still in the store) or run as `aero-launch run` in a child process, with its
 * inputs pinned to the exact versions its producers made. What happened is
 * kept in RUNS_DIR/.pipelines/runs/<id>.json and summed up at the end. */
#include "pipeline_run.h"

#include "canonjson.h"
#include "check_cmd.h"
#include "clock.h"
#include "error.h"
#include "file.h"
#include "image_id.h"
#include "journal.h"
#include "log.h"
#include "parse.h"
#include "pipeline.h"
#include "pipeline_exec.h"
#include "pipeline_key.h"
#include "redact.h"
#include "run_opts.h"
#include "runsdir.h"
#include "status.h"
#include "versions.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JOBS_MAX 64

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

struct options {
	const char *file, *repo, *from, *tracker, *dockerfile, *network;
	const char **only, **env;
	size_t only_count, env_count;
	long jobs;
	bool dry_run, force, allow_unpushed, json, quiet;
};

enum state {
	WAITING,
	RUNNING,
	RAN,
	SKIPPED,   /* up to date: an earlier run's outputs are used */
	WOULD_RUN, /* --dry-run */
	FAILED,
	BLOCKED, /* something it needs failed or is not up to date */
	REUSED,  /* not selected, up to date */
	STALE,   /* not selected, not up to date */
};

static const char *const state_names[] = {"waiting", "running", "ran",    "up-to-date", "would-run",
                                          "failed",  "not-run", "reused", "stale"};

struct slot {
	enum state state;
	bool selected, forced;
	char *run_id; /* the run that made the outputs */
	char key[72];
	cJSON *parts, *inputs, *outputs;
	char *why;
	int exit_status;
	int64_t started_ms;
	char started[AERO_UTC_SIZE]; /* when it was started, UTC */
	double seconds;
	char *image_id, *image_content;
	char prefix[80];
	struct aero_task_proc proc;
};

struct pipe_run {
	struct options o;
	struct aero_pipeline p;
	struct slot *s;
	char *self, *runs, *id, *project_image, *record_path;
	struct aero_store *store;
	char *store_url;
	size_t running;
	int forwarded; /* the stop signal passed on to the running tasks */
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* 0; 1 after --help; -status. */
static int parse_options(int argc, char **argv, struct options *o)
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
			if (aero_parse_int(optarg, 1, JOBS_MAX, &o->jobs) < 0) {
				aero_log_error("--jobs takes a number from 1 to %d, not '%s'",
				               JOBS_MAX, optarg);
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
static int select_tasks(struct pipe_run *r)
{
	const struct options *o = &r->o;
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
static int build_project_image(struct pipe_run *r)
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
static int find_images(struct pipe_run *r)
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

static cJSON *input_item(const char *name, uint64_t version, const char *digest, const char *task,
                         const char *run)
{
	cJSON *in = cJSON_CreateObject();
	if (in == NULL || cJSON_AddStringToObject(in, "name", name) == NULL ||
	    cJSON_AddNumberToObject(in, "version", (double)version) == NULL ||
	    cJSON_AddStringToObject(in, "digest", digest) == NULL ||
	    (task != NULL && cJSON_AddStringToObject(in, "task", task) == NULL) ||
	    (run != NULL && cJSON_AddStringToObject(in, "run", run) == NULL)) {
		cJSON_Delete(in);
		return NULL;
	}
	return in;
}

static const cJSON *output_named(const cJSON *outputs, const char *name)
{
	const cJSON *out = NULL;
	cJSON_ArrayForEach(out, outputs)
	{
		const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "name"));
		if (n != NULL && strcmp(n, name) == 0)
			return out;
	}
	return NULL;
}

/* The exact versions task i's inputs are: its producers' outputs, or what the
 * store resolves its references to now. Positive status when one cannot be had. */
static int resolve_inputs(struct pipe_run *r, size_t i)
{
	const struct aero_task *t = &r->p.tasks[i];
	struct slot *s = &r->s[i];
	s->inputs = cJSON_CreateArray();
	if (s->inputs == NULL)
		return aero_error_set("out of memory");
	for (size_t k = 0; k < t->input_count; k++) {
		const struct aero_task_input *in = &t->inputs[k];
		cJSON *item = NULL;
		if (in->producer >= 0) {
			const struct slot *from = &r->s[in->producer];
			const cJSON *out = output_named(from->outputs, in->ref.name);
			const char *digest = cJSON_GetStringValue(
			        cJSON_GetObjectItemCaseSensitive(out, "digest"));
			const double version = cJSON_GetNumberValue(
			        cJSON_GetObjectItemCaseSensitive(out, "version"));
			if (digest == NULL)
				return aero_error_set("task %s made no '%s'",
				                      r->p.tasks[in->producer].name, in->ref.name);
			item = input_item(in->ref.name, (uint64_t)version, digest,
			                  r->p.tasks[in->producer].name, from->run_id);
		} else {
			struct aero_artifact_version v = {0};
			const int rc = aero_artifact_resolve(r->store, &in->ref, &v);
			if (rc != 0) {
				char text[AERO_ARTIFACT_REF_TEXT_MAX];
				aero_artifact_ref_format(&in->ref, text);
				return aero_error_set("input %s: %s", text, aero_error_last());
			}
			char digest[72];
			(void)snprintf(digest, sizeof(digest), "sha256:%s", v.manifest);
			item = input_item(v.name, v.version, digest, NULL, NULL);
			aero_artifact_version_free(&v);
		}
		if (item == NULL || !cJSON_AddItemToArray(s->inputs, item)) {
			cJSON_Delete(item);
			return aero_error_set("out of memory");
		}
	}
	return 0;
}

/* The record of an earlier run with s's key whose outputs the store still
 * has, or NULL. */
static cJSON *find_reusable(struct pipe_run *r, struct slot *s)
{
	cJSON *record = aero_task_key_find(r->runs, s->key);
	const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(record, "outputs");
	const cJSON *out = NULL;
	bool ok = cJSON_IsArray(outputs) &&
	          cJSON_IsString(cJSON_GetObjectItemCaseSensitive(record, "run"));
	const cJSON *check = ok ? outputs : NULL;
	cJSON_ArrayForEach(out, check)
	{
		const char *name =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "name"));
		const char *digest =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "digest"));
		const cJSON *version = cJSON_GetObjectItemCaseSensitive(out, "version");
		struct aero_artifact_version v = {0};
		ok = ok && name != NULL && digest != NULL && cJSON_IsNumber(version) &&
		     strlen(name) <= AERO_ARTIFACT_NAME_MAX &&
		     aero_artifact_version_fetch(r->store, name, (uint64_t)version->valuedouble,
		                                 &v) == 0 &&
		     strncmp(digest, "sha256:", 7) == 0 && strcmp(v.manifest, digest + 7) == 0;
		aero_artifact_version_free(&v);
	}
	if (!ok) {
		cJSON_Delete(record);
		return NULL;
	}
	return record;
}

__attribute__((format(printf, 2, 3))) static int set_why(struct slot *s, const char *fmt, ...)
{
	free(s->why);
	s->why = NULL;
	va_list ap;
	va_start(ap, fmt);
	const int n = vasprintf(&s->why, fmt, ap);
	va_end(ap);
	if (n < 0) {
		s->why = NULL;
		return aero_error_set("out of memory");
	}
	return 0;
}

static void say(const struct pipe_run *r, size_t i, const char *what)
{
	if (!r->o.quiet || r->s[i].state == FAILED || r->s[i].state == BLOCKED)
		fprintf(stderr, "%s%s\n", r->s[i].prefix, what);
}

/* Why task i runs, for a person: what changed since its last run. */
static void explain_run(struct pipe_run *r, size_t i)
{
	struct slot *s = &r->s[i];
	cJSON *last = aero_task_last(r->runs, r->p.name, r->p.tasks[i].name);
	const cJSON *parts = cJSON_GetObjectItemCaseSensitive(last, "parts");
	char *changes = parts != NULL ? aero_task_key_changes(parts, s->parts) : NULL;
	if (s->forced)
		(void)set_why(s, "forced (%s)", r->o.force ? "--force" : "--from");
	else if (last == NULL)
		(void)set_why(s, "no earlier run of this task");
	else if (changes != NULL && changes[0] != '\0')
		(void)set_why(s, "changed since run %s: %s",
		              cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(last, "run")),
		              changes);
	else
		(void)set_why(s, "the outputs of run %s with this key are gone from the store",
		              cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(last, "run")));
	free(changes);
	cJSON_Delete(last);
}

/* The JSON of AERO_PIPELINE for task i. */
static char *pipeline_env(const struct pipe_run *r, size_t i)
{
	cJSON *e = cJSON_CreateObject();
	cJSON *config = cJSON_Duplicate(r->p.tasks[i].config, true);
	cJSON *inputs = cJSON_Duplicate(r->s[i].inputs, true);
	char *text = NULL;
	if (e != NULL && config != NULL && inputs != NULL &&
	    cJSON_AddStringToObject(e, "name", r->p.name) != NULL &&
	    cJSON_AddStringToObject(e, "id", r->id) != NULL &&
	    cJSON_AddStringToObject(e, "task", r->p.tasks[i].name) != NULL &&
	    cJSON_AddStringToObject(e, "key", r->s[i].key) != NULL &&
	    cJSON_AddItemToObject(e, "config", config) && (config = NULL, true) &&
	    cJSON_AddItemToObject(e, "inputs", inputs) && (inputs = NULL, true))
		text = aero_json_canonical(e);
	cJSON_Delete(config);
	cJSON_Delete(inputs);
	cJSON_Delete(e);
	return text;
}

/* A growing argv of owned strings. */
struct args {
	char **v;
	size_t n;
	bool failed;
};

__attribute__((format(printf, 2, 3))) static void add_arg(struct args *a, const char *fmt, ...)
{
	char **bigger = a->failed ? NULL : realloc(a->v, (a->n + 2) * sizeof(char *));
	if (bigger == NULL) {
		a->failed = true;
		return;
	}
	a->v = bigger;
	va_list ap;
	va_start(ap, fmt);
	const int n = vasprintf(&a->v[a->n], fmt, ap);
	va_end(ap);
	if (n < 0) {
		a->failed = true;
		return;
	}
	a->v[++a->n] = NULL;
}

static void free_args(struct args *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* `aero-launch run` for task i. */
static int task_args(const struct pipe_run *r, size_t i, struct args *a)
{
	const struct aero_task *t = &r->p.tasks[i];
	const struct slot *s = &r->s[i];
	char *config = aero_json_canonical(t->config);
	char *pipeline = pipeline_env(r, i);
	add_arg(a, "%s", r->self);
	add_arg(a, "run");
	add_arg(a, "-q");
	add_arg(a, "-C");
	add_arg(a, "%s", r->o.repo);
	add_arg(a, "--image-id=%s", s->image_id);
	if (t->image != NULL)
		add_arg(a, "--image=%s", t->image);
	add_arg(a, "--run-id=%s", s->run_id);
	if (r->o.allow_unpushed)
		add_arg(a, "--allow-unpushed");
	if (t->seed != NULL)
		add_arg(a, "--seed=%s", t->seed);
	if (t->cpus != NULL)
		add_arg(a, "--cpus=%s", t->cpus);
	if (t->memory != NULL)
		add_arg(a, "--memory=%s", t->memory);
	if (t->gpus != NULL)
		add_arg(a, "--gpus=%s", t->gpus);
	if (r->o.tracker != NULL)
		add_arg(a, "--tracker=%s", r->o.tracker);
	if (r->o.network != NULL)
		add_arg(a, "--network=%s", r->o.network);
	add_arg(a, "--env=AERO_CONFIG=%s", config != NULL ? config : "{}");
	add_arg(a, "--env=AERO_PIPELINE=%s", pipeline != NULL ? pipeline : "{}");
	add_arg(a, "--env=WANDB_RUN_GROUP=%s-%s", r->p.name, r->id);
	add_arg(a, "--env=WANDB_JOB_TYPE=%s", t->name);
	for (size_t k = 0; k < r->o.env_count; k++)
		add_arg(a, "--env=%s", r->o.env[k]);
	const cJSON *in = NULL;
	cJSON_ArrayForEach(in, s->inputs)
	{
		add_arg(a, "--artifact-override=%s=%s",
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "name")),
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "digest")));
	}
	add_arg(a, "--");
	for (size_t k = 0; k < t->argc; k++)
		add_arg(a, "%s", t->argv[k]);
	const bool ok = config != NULL && pipeline != NULL && !a->failed;
	free(config);
	free(pipeline);
	return ok ? 0 : aero_error_set("out of memory");
}

static int start_task(struct pipe_run *r, size_t i)
{
	struct slot *s = &r->s[i];
	struct args a = {0};
	int rc = task_args(r, i, &a);
	if (rc == 0)
		rc = aero_task_spawn(a.v, s->prefix, r->o.json, &s->proc);
	free_args(&a);
	if (rc < 0)
		return rc;
	s->state = RUNNING;
	s->started_ms = aero_clock_monotonic_ms();
	aero_clock_utc_now(s->started);
	r->running++;
	if (!r->o.quiet)
		fprintf(stderr, "%sruns as %s: %s\n", s->prefix, s->run_id, s->why);
	return 0;
}

static cJSON *task_record(const struct pipe_run *r, size_t i)
{
	const struct slot *s = &r->s[i];
	char now[AERO_UTC_SIZE];
	aero_clock_utc_now(now);
	cJSON *record = cJSON_CreateObject();
	cJSON *parts = cJSON_Duplicate(s->parts, true);
	cJSON *outputs = cJSON_Duplicate(s->outputs, true);
	if (record == NULL || parts == NULL || outputs == NULL ||
	    cJSON_AddStringToObject(record, "key", s->key) == NULL ||
	    !cJSON_AddItemToObject(record, "parts", parts) || (parts = NULL, false) ||
	    !cJSON_AddItemToObject(record, "outputs", outputs) || (outputs = NULL, false) ||
	    cJSON_AddStringToObject(record, "pipeline", r->p.name) == NULL ||
	    cJSON_AddStringToObject(record, "task", r->p.tasks[i].name) == NULL ||
	    cJSON_AddStringToObject(record, "run", s->run_id) == NULL ||
	    cJSON_AddStringToObject(record, "finished", now) == NULL) {
		cJSON_Delete(parts);
		cJSON_Delete(outputs);
		cJSON_Delete(record);
		return NULL;
	}
	return record;
}

/* Task i's process ended with status. */
static void finish_task(struct pipe_run *r, size_t i, int status)
{
	struct slot *s = &r->s[i];
	const struct aero_task *t = &r->p.tasks[i];
	r->running--;
	s->exit_status = status;
	s->seconds = (double)(aero_clock_monotonic_ms() - s->started_ms) / 1000.0;
	char seconds[32];
	(void)snprintf(seconds, sizeof(seconds), "%.1f", s->seconds);
	if (status != 0) {
		s->state = FAILED;
		(void)set_why(s, "exit status %d after %s s", status, seconds);
		say(r, i, s->why);
		return;
	}
	char *dir = aero_path_join(r->runs, s->run_id);
	s->outputs = cJSON_CreateArray();
	if (dir == NULL || s->outputs == NULL ||
	    aero_artifact_journal_read(dir, NULL, s->outputs) < 0) {
		s->state = FAILED;
		(void)set_why(s, "its outputs cannot be read: %s", aero_error_last());
	}
	free(dir);
	for (size_t k = 0; s->state != FAILED && k < t->output_count; k++)
		if (output_named(s->outputs, t->outputs[k]) == NULL) {
			s->state = FAILED;
			(void)set_why(s,
			              "it did not put its output '%s' (aero-init artifact put %s "
			              "PATH...)",
			              t->outputs[k], t->outputs[k]);
		}
	if (s->state == FAILED) {
		say(r, i, s->why);
		return;
	}
	s->state = RAN;
	(void)set_why(s, "done in %s s", seconds);
	say(r, i, s->why);
	cJSON *record = task_record(r, i);
	if (record == NULL || aero_task_key_save(r->runs, record) < 0)
		aero_log_warn("%sits key is not recorded, so it will run again: %s", s->prefix,
		              aero_error_last());
	cJSON_Delete(record);
}

/* Decides what task i (all it needs settled) becomes, or starts it. Returns
 * whether it is still waiting (for a free job). */
static int settle(struct pipe_run *r, size_t i, bool *waiting)
{
	struct slot *s = &r->s[i];
	const struct aero_task *t = &r->p.tasks[i];
	*waiting = false;
	for (size_t k = 0; k < t->need_count; k++) {
		const struct slot *need = &r->s[t->needs[k]];
		const char *name = r->p.tasks[t->needs[k]].name;
		switch (need->state) {
		case WAITING:
		case RUNNING:
			*waiting = true;
			return 0;
		case FAILED:
		case BLOCKED:
		case STALE:
			s->state = s->selected ? BLOCKED : STALE;
			return set_why(
			        s,
			        need->state == STALE
			                ? "needs %s, which is not up to date and not chosen: "
			                  "add it (--only %s) or run the whole pipeline"
			                : "needs %s, which %s",
			        name, need->state == STALE ? name : "did not succeed");
		case WOULD_RUN:
			s->state = s->selected ? WOULD_RUN : STALE;
			return set_why(s, "would run after %s, whose outputs will be new", name);
		default:
			break;
		}
	}
	if (resolve_inputs(r, i) < 0) {
		s->state = s->selected ? FAILED : STALE;
		return set_why(s, "%s", aero_error_last());
	}
	s->parts = aero_task_key_parts(t, s->image_content, s->inputs);
	if (s->parts == NULL || aero_task_key(s->parts, s->key) < 0)
		return -1;
	cJSON *earlier = s->forced ? NULL : find_reusable(r, s);
	if (earlier != NULL) {
		const char *run =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(earlier, "run"));
		s->state = s->selected ? SKIPPED : REUSED;
		s->run_id = strdup(run);
		s->outputs = cJSON_DetachItemFromObjectCaseSensitive(earlier, "outputs");
		cJSON_Delete(earlier);
		if (s->run_id == NULL)
			return aero_error_set("out of memory");
		const int rc = set_why(s, "up to date: run %s had key %.19s", s->run_id, s->key);
		say(r, i, s->why);
		return rc;
	}
	if (!s->selected) {
		s->state = STALE;
		return set_why(s, "not up to date (key %.19s)", s->key);
	}
	explain_run(r, i);
	if (r->o.dry_run) {
		s->state = WOULD_RUN;
		say(r, i, s->why);
		return 0;
	}
	if (stop_signal != 0) {
		s->state = BLOCKED;
		return set_why(s, "not started: the pipeline was interrupted");
	}
	if (r->running >= (size_t)r->o.jobs) {
		*waiting = true;
		return 0;
	}
	s->run_id = aero_run_id_new();
	if (s->run_id == NULL)
		return -1;
	return start_task(r, i);
}

/* Reads the running tasks' output until one ends; finishes it. */
static void wait_for_tasks(struct pipe_run *r)
{
	struct pollfd fds[2 * JOBS_MAX];
	size_t owner[2 * JOBS_MAX];
	int which[2 * JOBS_MAX];
	for (;;) {
		nfds_t n = 0;
		for (size_t i = 0; i < r->p.count; i++)
			for (int w = 0; w < 2 && r->s[i].state == RUNNING; w++)
				if (r->s[i].proc.fd[w] >= 0 && n < (nfds_t)2 * JOBS_MAX) {
					fds[n] = (struct pollfd){.fd = r->s[i].proc.fd[w],
					                         .events = POLLIN};
					owner[n] = i;
					which[n++] = w;
				}
		if (stop_signal != 0 && stop_signal != r->forwarded) {
			/* Tasks run in process groups of their own: each gets it once. */
			r->forwarded = stop_signal;
			for (size_t i = 0; i < r->p.count; i++)
				if (r->s[i].state == RUNNING)
					(void)kill(r->s[i].proc.pid,
					           stop_signal == SIGINT ? SIGINT : SIGTERM);
		}
		if (n == 0) /* every running task has a pipe open until it is reaped */
			return;
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			/* poll itself failed: wait for the first task the plain way. */
			struct slot *s = &r->s[owner[0]];
			int status = 0;
			aero_task_reap(&s->proc, &status);
			finish_task(r, owner[0], status);
			return;
		}
		for (nfds_t k = 0; k < n; k++) {
			if (fds[k].revents == 0)
				continue;
			struct slot *s = &r->s[owner[k]];
			if (aero_task_pump(&s->proc, which[k])) {
				int status = 0;
				aero_task_reap(&s->proc, &status);
				finish_task(r, owner[k], status);
				return;
			}
		}
	}
}

static int schedule(struct pipe_run *r)
{
	for (;;) {
		bool changed = false, waiting_any = false;
		for (size_t k = 0; k < r->p.count; k++) {
			const size_t i = r->p.order[k];
			if (r->s[i].state != WAITING)
				continue;
			bool waiting = false;
			if (settle(r, i, &waiting) < 0)
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

static cJSON *run_record(const struct pipe_run *r)
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
		const struct slot *s = &r->s[i];
		cJSON *t = cJSON_CreateObject();
		if (t == NULL || !cJSON_AddItemToArray(tasks, t) ||
		    cJSON_AddStringToObject(t, "name", r->p.tasks[i].name) == NULL ||
		    cJSON_AddStringToObject(t, "status", state_names[s->state]) == NULL ||
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
static int report(struct pipe_run *r)
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
		        state_names[r->s[i].state], r->s[i].run_id != NULL ? r->s[i].run_id : "-",
		        r->s[i].why != NULL ? r->s[i].why : "");
	}
	return status;
}

static void run_free(struct pipe_run *r)
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
static int prepare(struct pipe_run *r)
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
static int equip(struct pipe_run *r)
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
static int check_checkout(const struct pipe_run *r)
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
	struct pipe_run r = {0};
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
	if (stop_signal != 0)
		return 128 + stop_signal;
	return rc != 0 ? rc : status;
}
