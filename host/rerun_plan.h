/* What `aero-launch rerun` takes from a past run's manifest (doc/rerun.md). */
#ifndef AERO_HOST_RERUN_PLAN_H
#define AERO_HOST_RERUN_PLAN_H

#include <stdbool.h>
#include <stddef.h>

struct aero_rerun_plan {
	char *id;                    /* run.id */
	char *commit;                /* git.commit */
	char *remote;                /* git.remote; NULL when none */
	char *image_id, *image_name; /* image.id and image.name; NULL when absent */
	char *seed;                  /* seed.base, decimal; NULL when absent */
	char *task;                  /* seed.task (AERO_TASK); NULL when absent */
	char *config;                /* run.pipeline.config, canonical JSON; NULL when absent */
	char **overrides;            /* NAME=sha256:HEX for each input, NULL-terminated */
	size_t override_count;
	char **command; /* run.argv, NULL-terminated */
	size_t command_count;
	/* run.privileges, as `run` takes them again: */
	char *user;           /* "UID:GID" when not root; else NULL */
	char *caps;           /* the effective capabilities, "cap_a,cap_b"; NULL when none */
	bool hermetic;        /* --hermetic */
	bool allow_new_privs; /* AERO_ALLOW_NEW_PRIVS=1: it ran without no_new_privs */
};

/* Reads run_dir/manifest.json into plan. 0; -AERO_EXIT_NO_COMMIT for a run
 * that recorded no commit (a dev run, or one aero-launch did not start);
 * -AERO_EXIT_INTERNAL for a manifest that cannot be read. aero_error says why. */
int aero_rerun_plan_read(const char *run_dir, struct aero_rerun_plan *plan);

/* The first argument of the recorded command that holds a redacted secret, or NULL. */
const char *aero_rerun_plan_redacted(const struct aero_rerun_plan *plan);

/* Frees what plan holds. */
void aero_rerun_plan_free(struct aero_rerun_plan *plan);

#endif
