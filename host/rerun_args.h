/* The `aero-launch run` command line that runs a past run again. */
#ifndef AERO_HOST_RERUN_ARGS_H
#define AERO_HOST_RERUN_ARGS_H

#include "rerun_plan.h"

#include <stdbool.h>

struct aero_rerun_choice {
	const char *program;     /* argv[0] */
	const char *worktree;    /* -C: the checkout of the run's commit */
	const char *run_id;      /* --run-id: the new run's id */
	bool reuse_image;        /* --image-id: the recorded image, which the engine has */
	const char *const *pass; /* run's options as the user gave them to rerun; NULL-terminated */
	char *const *command;    /* the command; NULL for the recorded one */
};

/* `PROGRAM run -C WORKTREE --allow-unpushed --run-id ID [--image-id ID] --image
 * NAME --seed N --artifact-override NAME=sha256:HEX... [-e AERO_TASK=...]
 * [-e AERO_CONFIG=JSON] PASS... -- COMMAND...`, NULL-terminated, each string
 * malloc'd; NULL when out of memory. */
char **aero_rerun_args(const struct aero_rerun_plan *plan, const struct aero_rerun_choice *choice);

/* Frees what aero_rerun_args returned. */
void aero_rerun_args_free(char **args);

#endif
