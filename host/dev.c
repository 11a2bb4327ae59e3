/* A dev run: the same run directory and AERO_* settings as a tracked run, so
 * that aero-init records it the same way, with AERO_DEV=1 and whatever Git
 * facts can be read (unchecked). */
#include "dev.h"

#include "init_path.h"

#include "error.h"
#include "git.h"
#include "log.h"
#include "run_env.h"
#include "runsdir.h"
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int aero_dev_run(const struct aero_run_opts *opts)
{
	if (opts->gpus != NULL || opts->shm_size > 0 || opts->mount_count > 0 ||
	    opts->network != NULL || opts->build_network != NULL)
		aero_log_warn("--dev runs on this machine: --gpus, --shm-size, --mount, --network "
		              "and --build-network do not apply");
	aero_git_init();
	git_repository *repo = NULL;
	struct aero_git_facts git = {0};
	if (aero_git_open(opts->repo, &repo) < 0 || aero_git_facts_read(repo, &git) < 0)
		aero_git_facts_free(&git); /* a dev run needs no repository */
	git_repository_free(repo);

	char *run_id = aero_run_id_new();
	char *runs = aero_runs_dir();
	char *cache = aero_cache_dir();
	char *run_dir = run_id != NULL && runs != NULL ? aero_path_join(runs, run_id) : NULL;
	char *init = aero_init_path(opts->init_path);
	struct aero_env env = {0};
	int rc = run_dir != NULL && cache != NULL && init != NULL ? 0
	                                                          : aero_error_set("out of memory");
	const struct aero_run_facts facts = {
	        .run_id = run_id,
	        .run_dir = run_dir,
	        .cache_dir = cache,
	        .git = &git,
	        .seed = opts->seed,
	        .tracker = opts->tracker,
	        .user = opts->user,
	        .caps = opts->caps,
	        .hermetic = opts->hermetic,
	        .overrides = opts->overrides,
	        .override_count = opts->override_count,
	        .dev = true,
	};
	if (rc == 0 &&
	    (aero_mkdirs(run_dir) < 0 || aero_mkdirs(cache) < 0 ||
	     aero_env_add_run(&env, &facts) < 0 || aero_env_add_user(&env, opts->env) < 0))
		rc = -1;
	for (size_t i = 0; rc == 0 && i < env.count; i++)
		if (putenv(env.items[i]) != 0) /* the environment now owns the string */
			rc = aero_error_set("cannot set the run's environment");
	if (rc == 0 && init != NULL) {
		if (!opts->quiet)
			fprintf(stderr,
			        "aero-launch: dev run %s (no container, not reproducible), "
			        "recorded in %s\n",
			        run_id, run_dir);
		size_t argc = 0;
		while (opts->command[argc] != NULL)
			argc++;
		char **argv = calloc(argc + 3, sizeof(char *));
		if (argv != NULL) {
			argv[0] = init;
			argv[1] = (char *)"--"; /* execvp's prototype predates const */
			memcpy(argv + 2, opts->command, argc * sizeof(char *));
			execvp(init, argv);
			aero_error_set(
			        "cannot run aero-init ('%s'): %s; install it beside aero-launch "
			        "or name it with --init",
			        init, strerror(errno));
			free(argv);
		}
	}
	aero_log_error("%s", aero_error_last());
	aero_git_facts_free(&git);
	free(run_id);
	free(runs);
	free(cache);
	free(run_dir);
	free(init);
	free(env.items); /* the strings belong to the environment now */
	return AERO_EXIT_INTERNAL;
}
