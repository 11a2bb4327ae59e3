/* The environment a run's experiment gets: the AERO_* settings, the
 * trackers' and stores' credentials passed by name from the host, and the
 * user's --env. Values live only in memory: never written, never printed. */
#ifndef AERO_HOST_RUN_ENV_H
#define AERO_HOST_RUN_ENV_H

#include "git.h"

#include <stdbool.h>
#include <stddef.h>

/* A list of "NAME=VALUE" strings. */
struct aero_env {
	char **items; /* NULL-terminated when not empty */
	size_t count;
};

/* What the AERO_* settings say. NULL members are left out. */
struct aero_run_facts {
	const char *run_id;
	const char *run_dir;   /* as the experiment sees it */
	const char *cache_dir; /* as the experiment sees it */
	const struct aero_git_facts *git;
	const char *image_id, *image_name;
	const char *seed, *tracker;
	const char *user, *caps;      /* AERO_USER, AERO_CAPS */
	bool hermetic;                /* AERO_HERMETIC=1 */
	const char *store;            /* the store's URL as the experiment reaches it */
	const char *const *overrides; /* --artifact-override NAME=VERSION */
	size_t override_count;
	bool dev;
};

/* Appends NAME=VALUE. 0, or -1 with aero_error set. */
int aero_env_set(struct aero_env *env, const char *name, const char *value);

/* Appends the AERO_* settings of a run. */
int aero_env_add_run(struct aero_env *env, const struct aero_run_facts *facts);

/* Appends the credentials found in the host's environment (WANDB_API_KEY,
 * MLFLOW_TRACKING_*, AWS_*), read now. */
int aero_env_add_credentials(struct aero_env *env);

/* Appends --env items: NAME=VALUE as given, NAME alone with the host's value
 * (left out when the host has none). */
int aero_env_add_user(struct aero_env *env, const char *const *items);

/* Frees the list, overwriting the values first. */
void aero_env_free(struct aero_env *env);

#endif
