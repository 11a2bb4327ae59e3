/* aero-launch rerun: reads what a past run recorded (rerun_plan.c), checks its
 * commit out in a temporary worktree (worktree_temp.c), runs it with `aero-launch
 * run` pinned to that run's image, seed and input versions (rerun_args.c), removes
 * the worktree, and compares the two runs (rerun_report.c). */
#include "rerun_cmd.h"

#include "engine.h"
#include "error.h"
#include "git.h"
#include "image_id.h"
#include "log.h"
#include "redact.h"
#include "rerun_args.h"
#include "rerun_plan.h"
#include "rerun_report.h"
#include "run_opts.h"
#include "runs_find.h"
#include "runsdir.h"
#include "spawn.h"
#include "status.h"
#include "worktree_temp.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fputs("Usage: aero-launch rerun [OPTIONS] RUN [-- COMMAND [ARGS...]]\n"
	      "\n"
	      "Runs a recorded run again: its commit, checked out in a temporary worktree of\n"
	      "the checkout; its image when the engine still has it, else one rebuilt from\n"
	      "the commit; its seed, its input artifacts' versions and its command. Then it\n"
	      "shows how the two runs' environments differ and compares their final metrics.\n"
	      "RUN is a run id, a unique prefix of one, or a run directory.\n"
	      "\n"
	      "  -C, --repo DIR         the checkout that has the commit (default: .)\n"
	      "      --keep-worktree    leave the worktree and its branch in place\n"
	      "      --json             print the result as JSON (the run's output goes to\n"
	      "                         stderr)\n"
	      "  -q, --quiet            keep the build's output off the terminal\n"
	      "      --tracker NAME, -e NAME[=VALUE], --mount HOST:PATH[:ro], --gpus all|N,\n"
	      "      --network MODE, --build-network MODE, --cpus N, --memory SIZE,\n"
	      "      --shm-size SIZE, --keep\n"
	      "                         as for 'aero-launch run'\n"
	      "  -h, --help             print this help and exit\n"
	      "\n"
	      "A COMMAND after '--' replaces the recorded one (needed when it held a secret,\n"
	      "which is never recorded).\n"
	      "Exit status: the rerun's own when it failed; else 0 when the final metrics are\n"
	      "identical, 1 when they differ; 2 usage, 75 no such run, 83 the run's commit is\n"
	      "not in the repository (or it recorded none).\n",
	      out);
}

struct rerun_opts {
	const char *repo, *run;
	bool keep_worktree, json, quiet;
	const char **pass; /* run's options, as given; NULL-terminated */
	size_t pass_count;
	char **command; /* after "--"; NULL for the recorded one */
};

static int pass_on(struct rerun_opts *o, const char *option, const char *value)
{
	if (aero_opts_append(&o->pass, &o->pass_count, option) < 0)
		return -1;
	return value != NULL ? aero_opts_append(&o->pass, &o->pass_count, value) : 0;
}

enum { OPT_KEEP_WORKTREE = 256, OPT_JSON, OPT_PASS };

/* run's options that rerun passes on, spelled as run spells them; the first
 * takes no value. */
static const char *const passed[] = {"--keep",          "--tracker", "--mount",
                                     "--gpus",          "--network", "--cpus",
                                     "--build-network", "--memory",  "--shm-size"};
#define PASSED_COUNT (sizeof(passed) / sizeof(passed[0]))

/* 0; 1 after --help; or -AERO_EXIT_USAGE / -AERO_EXIT_INTERNAL after saying why. */
static int parse(int argc, char **argv, struct rerun_opts *o)
{
	struct option longopts[PASSED_COUNT + 7] = {
	        {"repo", required_argument, NULL, 'C'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {"env", required_argument, NULL, 'e'},
	        {"keep-worktree", no_argument, NULL, OPT_KEEP_WORKTREE},
	        {"json", no_argument, NULL, OPT_JSON},
	};
	for (size_t i = 0; i < PASSED_COUNT; i++)
		longopts[6 + i] =
		        (struct option){passed[i] + 2, i == 0 ? no_argument : required_argument,
		                        NULL, OPT_PASS + (int)i};
	memset(o, 0, sizeof(*o));
	o->repo = ".";
	optind = 1;
	opterr = 0; /* getopt would print an unknown --api-key=VALUE whole */
	int c;
	while ((c = getopt_long(argc, argv, "+:C:qhe:", longopts, NULL)) != -1) {
		int rc = 0;
		if (c == 'h') {
			usage(stdout);
			return 1;
		} else if (c == '?' || c == ':') {
			aero_log_error("rerun: %s '%.*s'; see 'aero-launch rerun --help'",
			               c == '?' ? "unknown option" : "a value is needed for",
			               aero_arg_shown(argv[optind - 1]), argv[optind - 1]);
			return -AERO_EXIT_USAGE;
		} else if (c == 'C') {
			o->repo = optarg;
		} else if (c == 'q') {
			o->quiet = true;
			rc = pass_on(o, "-q", NULL);
		} else if (c == 'e') {
			rc = pass_on(o, "-e", optarg);
		} else if (c == OPT_KEEP_WORKTREE) {
			o->keep_worktree = true;
		} else if (c == OPT_JSON) {
			o->json = true;
		} else {
			rc = pass_on(o, passed[c - OPT_PASS], optarg);
		}
		if (rc < 0) {
			aero_log_error("out of memory");
			return -AERO_EXIT_INTERNAL;
		}
	}
	if (optind >= argc) {
		aero_log_error("rerun needs a run: aero-launch rerun [OPTIONS] RUN");
		return -AERO_EXIT_USAGE;
	}
	o->run = argv[optind];
	if (optind + 1 < argc) {
		if (strcmp(argv[optind + 1], "--") != 0 || optind + 2 >= argc) {
			aero_log_error(
			        "rerun takes one run, then '--' and a command to run instead of "
			        "the recorded one, not '%.*s'; options go before the run",
			        aero_arg_shown(argv[optind + 1]), argv[optind + 1]);
			return -AERO_EXIT_USAGE;
		}
		o->command = argv + optind + 2;
	}
	return 0;
}

/* The run goes through aero-launch's own binary rather than a call to
 * aero_run_main: the run then behaves exactly as `aero-launch run` does with
 * signals (Ctrl-C stops a build, and is forwarded to the experiment once it
 * runs), while this process outlives it to remove the worktree and compare.
 * The terminal signals the whole process group; a signal sent to this process
 * alone (kill, a process manager) is passed on. */
static int run_child(char **args, bool json, int *status)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, &old) != 0)
		return aero_error_set("cannot take over signals");
	(void)fflush(stdout);
	pid_t pid = -1;
	/* --json: stdout is the result's; the run's output goes to stderr. */
	const int rc = aero_spawn(args, json ? STDERR_FILENO : -1, -1, &pid);
	if (rc != 0) {
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
		return aero_error_set("cannot run %s: %s", args[0], strerror(rc));
	}
	for (;;) {
		siginfo_t info;
		if (sigwaitinfo(&set, &info) < 0)
			continue; /* EINTR */
		if (info.si_signo != SIGCHLD) {
			if (info.si_code != SI_KERNEL)
				(void)kill(pid, info.si_signo);
			continue;
		}
		int wstatus = 0;
		const pid_t done = waitpid(pid, &wstatus, WNOHANG);
		if (done == pid) {
			*status =
			        WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
			break;
		}
		if (done < 0 && errno != EINTR) {
			*status = AERO_EXIT_INTERNAL;
			break;
		}
	}
	/* A Ctrl-C now may end aero-launch as usual; the run is over. */
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* Whether the engine still has the recorded image. 0 (yes), 1 (no: rebuild),
 * or -(exit status) after saying why. */
static int image_missing(const struct aero_rerun_plan *plan)
{
	if (plan->image_id == NULL)
		return 1;
	struct aero_engine *eng = NULL;
	char *id = NULL;
	int rc = aero_engine_open(&eng);
	if (rc == 0)
		rc = aero_image_id(eng, plan->image_id, &id);
	free(id);
	aero_engine_free(eng);
	if (rc == -AERO_EXIT_BASE_IMAGE)
		return 1;
	if (rc < 0)
		aero_log_error("%s", aero_error_last());
	return rc;
}

/* The refusal when the checkout lacks the commit: what to fetch, from where. */
static void explain_missing_commit(const struct rerun_opts *o, const struct aero_rerun_plan *plan)
{
	aero_log_error("commit %.12s of run %s is not in the repository at %s: fetch it "
	               "(git -C %s fetch %s %s) and run again, or name a checkout that has it "
	               "with -C",
	               plan->commit, plan->id != NULL ? plan->id : o->run, o->repo, o->repo,
	               plan->remote != NULL ? plan->remote : "REMOTE", plan->commit);
}

/* Makes the worktree, runs, removes the worktree. 0 with *status the run's
 * exit status, or -(exit status) after saying why. */
static int rerun(const struct rerun_opts *o, const struct aero_rerun_plan *plan,
                 git_repository *repo, const char *run_id, bool reuse, int *status)
{
	struct aero_worktree_temp wt;
	int rc = aero_worktree_temp_add(repo, plan->commit, run_id, &wt);
	if (rc < 0) {
		aero_log_error("cannot check out commit %.12s: %s", plan->commit,
		               aero_error_last());
		return rc;
	}
	char *self = aero_self_path();
	const struct aero_rerun_choice choice = {.program = self != NULL ? self : "/proc/self/exe",
	                                         .worktree = wt.path,
	                                         .run_id = run_id,
	                                         .reuse_image = reuse,
	                                         .pass = o->pass,
	                                         .command = o->command};
	char **args = aero_rerun_args(plan, &choice);
	if (args == NULL)
		rc = aero_error_set("out of memory");
	else
		rc = run_child(args, o->json, status);
	if (rc < 0)
		aero_log_error("%s", aero_error_last());
	aero_rerun_args_free(args);
	free(self);
	if (o->keep_worktree) {
		fprintf(stderr,
		        "aero-launch: kept the worktree %s (branch %s); remove it with 'git "
		        "worktree "
		        "remove %s' and 'git branch -D %s'\n",
		        wt.path, wt.branch, wt.path, wt.branch);
	} else if (aero_worktree_temp_remove(repo, &wt) < 0) {
		aero_log_error("%s", aero_error_last());
	}
	aero_worktree_temp_free(&wt);
	return rc < 0 ? -AERO_EXIT_INTERNAL : 0;
}

/* Everything but the options: 0 or a positive exit status. */
static int rerun_run(const struct rerun_opts *o)
{
	int status = 0;
	char *old_dir = aero_run_dir_find(o->run, &status);
	if (old_dir == NULL)
		return status;
	struct aero_rerun_plan plan;
	int rc = aero_rerun_plan_read(old_dir, &plan);
	if (rc < 0) {
		aero_log_error("%s", aero_error_last());
		free(old_dir);
		return -rc;
	}
	const char *secret = o->command == NULL ? aero_rerun_plan_redacted(&plan) : NULL;
	git_repository *repo = NULL;
	char *run_id = NULL, *runs = NULL, *new_dir = NULL;
	if (secret != NULL) {
		aero_log_error("the run's command held a secret, which is never recorded ('%s'): "
		               "give the command after '--': aero-launch rerun %s -- COMMAND...",
		               secret, o->run);
		rc = -AERO_EXIT_USAGE;
		goto out;
	}
	aero_git_init();
	rc = aero_git_open(o->repo, &repo);
	if (rc == 0)
		rc = aero_worktree_commit_check(repo, plan.commit);
	if (rc == -AERO_EXIT_NO_COMMIT) {
		explain_missing_commit(o, &plan);
		goto out;
	}
	if (rc < 0) {
		aero_log_error("%s", aero_error_last());
		goto out;
	}
	const int missing = image_missing(&plan);
	if (missing < 0) {
		rc = missing;
		goto out;
	}
	run_id = aero_run_id_new();
	runs = aero_runs_dir();
	new_dir = run_id != NULL && runs != NULL ? aero_path_join(runs, run_id) : NULL;
	if (new_dir == NULL) {
		aero_log_error("out of memory");
		rc = -AERO_EXIT_INTERNAL;
		goto out;
	}
	if (!o->quiet)
		fprintf(stderr, "aero-launch: running %s again as %s: commit %.12s, %s\n",
		        plan.id != NULL ? plan.id : o->run, run_id, plan.commit,
		        missing == 0 ? "its image"
		        : plan.image_id != NULL
		                ? "the engine no longer has its image: rebuilding it"
		                : "it recorded no image: building one");
	rc = rerun(o, &plan, repo, run_id, missing == 0, &status);
	if (rc < 0)
		goto out;
	if (!aero_run_dir_is_run(new_dir)) {
		/* Nothing ran (a build that failed, an engine that refused): run said why. */
		rc = -(status != 0 ? status : AERO_EXIT_INTERNAL);
		goto out;
	}
	const struct aero_rerun_outcome outcome = {
	        .old_dir = old_dir,
	        .new_dir = new_dir,
	        .old_id = plan.id != NULL ? plan.id : o->run,
	        .new_id = run_id,
	        .recorded_image = plan.image_id,
	        .image_reused = missing == 0,
	        .run_status = status,
	        .json = o->json,
	};
	rc = -aero_rerun_report(&outcome);
out:
	git_repository_free(repo);
	aero_rerun_plan_free(&plan);
	free(old_dir);
	free(run_id);
	free(runs);
	free(new_dir);
	return -rc;
}

int aero_rerun_main(int argc, char **argv)
{
	struct rerun_opts o;
	const int rc = parse(argc, argv, &o);
	const int status = rc == 0 ? rerun_run(&o) : rc > 0 ? 0 : -rc;
	free(o.pass);
	return status;
}
