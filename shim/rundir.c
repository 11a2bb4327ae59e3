/* The run's identity and its directory. */
#include "rundir.h"

#include "error.h"
#include "runsdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The default run directory's name, kept for the life of the process. */
static char *default_dir;
static char *drawn_id;

/* A relative run directory is made absolute now: aero-init leaves its
 * working directory once the experiment has started, and the experiment,
 * in a directory of its own, is handed AERO_SOCKET under it. */
static int absolute_run_dir(struct aero_init_options *opts)
{
	if (opts->run_dir[0] == '/')
		return 0;
	char *cwd = getcwd(NULL, 0);
	if (cwd == NULL)
		return aero_error_set("cannot tell where the run directory '%s' is: %s; give an "
		                      "absolute path",
		                      opts->run_dir, strerror(errno));
	const size_t len = strlen(cwd) + strlen(opts->run_dir) + 2;
	char *dir = malloc(len);
	if (dir != NULL)
		(void)snprintf(dir, len, "%s/%s", cwd, opts->run_dir);
	free(cwd);
	if (dir == NULL)
		return aero_error_set("out of memory");
	free(default_dir);
	default_dir = dir;
	opts->run_dir = dir;
	return 0;
}

int aero_run_dir_resolve(struct aero_init_options *opts)
{
	const char *given = getenv("AERO_RUN_ID");
	if (given != NULL && given[0] != '\0') {
		if (!aero_run_id_valid(given))
			return aero_error_set(
			        "AERO_RUN_ID: '%s' is not a run id (1 to 64 of letters, "
			        "digits, '.', '_' and '-', not starting with '.')",
			        given);
		opts->run_id = given;
	} else {
		/* Drawn ids sort by time: 20261126-153012-1a2b3c4d. */
		free(drawn_id);
		drawn_id = aero_run_id_new();
		if (drawn_id == NULL)
			return -1;
		opts->run_id = drawn_id;
	}
	if (!opts->record) {
		if (opts->run_dir != NULL)
			return aero_error_set(
			        "a run directory was given (--run-dir or AERO_RUN_DIR) but "
			        "recording is off (--no-record or AERO_RECORD=0): drop one");
		return 0;
	}
	if (opts->run_dir != NULL)
		return absolute_run_dir(opts);
	char *runs = aero_runs_dir();
	char *dir = runs != NULL ? malloc(strlen(runs) + strlen(opts->run_id) + 2) : NULL;
	if (dir == NULL) {
		free(runs);
		return aero_error_set("out of memory");
	}
	(void)sprintf(dir, "%s/%s", runs, opts->run_id);
	free(runs);
	free(default_dir);
	default_dir = dir;
	opts->run_dir = dir;
	return 0;
}
