/* The experiment's environment. */
#include "run_env.h"

#include "error.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

/* Credentials passed by name: the trackers' and the blob stores'. */
static const char *const credential_patterns[] = {"WANDB_API_KEY", "MLFLOW_TRACKING_*", "AWS_*"};

int aero_env_set(struct aero_env *env, const char *name, const char *value)
{
	char **bigger = realloc(env->items, (env->count + 2) * sizeof(char *));
	if (bigger == NULL)
		return aero_error_set("out of memory");
	env->items = bigger;
	const size_t len = strlen(name) + strlen(value) + 2;
	char *item = malloc(len);
	if (item == NULL)
		return aero_error_set("out of memory");
	(void)snprintf(item, len, "%s=%s", name, value);
	bigger[env->count++] = item;
	bigger[env->count] = NULL;
	return 0;
}

static int set_if(struct aero_env *env, const char *name, const char *value)
{
	return value != NULL ? aero_env_set(env, name, value) : 0;
}

/* AERO_ARTIFACT_OVERRIDES=name=v3,other=sha256:... */
static int add_overrides(struct aero_env *env, const struct aero_run_facts *f)
{
	if (f->override_count == 0)
		return 0;
	size_t len = 1;
	for (size_t i = 0; i < f->override_count; i++)
		len += strlen(f->overrides[i]) + 1;
	char *list = malloc(len);
	if (list == NULL)
		return aero_error_set("out of memory");
	size_t used = 0;
	for (size_t i = 0; i < f->override_count; i++) {
		if (i > 0)
			list[used++] = ',';
		const size_t n = strlen(f->overrides[i]);
		memcpy(list + used, f->overrides[i], n);
		used += n;
	}
	list[used] = '\0';
	const int rc = aero_env_set(env, "AERO_ARTIFACT_OVERRIDES", list);
	free(list);
	return rc;
}

int aero_env_add_run(struct aero_env *env, const struct aero_run_facts *f)
{
	const struct aero_git_facts *g = f->git;
	if (set_if(env, "AERO_RUN_ID", f->run_id) < 0 ||
	    set_if(env, "AERO_RUN_DIR", f->run_dir) < 0 ||
	    set_if(env, "AERO_CACHE_DIR", f->cache_dir) < 0 ||
	    set_if(env, "AERO_IMAGE_ID", f->image_id) < 0 ||
	    set_if(env, "AERO_IMAGE_NAME", f->image_name) < 0 ||
	    set_if(env, "AERO_SEED", f->seed) < 0 || set_if(env, "AERO_TRACKER", f->tracker) < 0 ||
	    set_if(env, "AERO_STORE", f->store) < 0 || add_overrides(env, f) < 0 ||
	    set_if(env, "AERO_USER", f->user) < 0 || set_if(env, "AERO_CAPS", f->caps) < 0 ||
	    (f->hermetic && aero_env_set(env, "AERO_HERMETIC", "1") < 0) ||
	    (f->dev && aero_env_set(env, "AERO_DEV", "1") < 0))
		return -1;
	if (g == NULL || g->commit[0] == '\0')
		return 0;
	if (aero_env_set(env, "AERO_GIT_COMMIT", g->commit) < 0 ||
	    set_if(env, "AERO_GIT_BRANCH", g->branch) < 0 ||
	    set_if(env, "AERO_GIT_REMOTE", g->remote_url) < 0 ||
	    set_if(env, "AERO_GIT_MESSAGE", g->message) < 0 ||
	    aero_env_set(env, "AERO_GIT_PUSHED", g->pushed ? "1" : "0") < 0)
		return -1;
	return 0;
}

static int is_credential(const char *name)
{
	for (size_t i = 0; i < sizeof(credential_patterns) / sizeof(credential_patterns[0]); i++)
		if (fnmatch(credential_patterns[i], name, 0) == 0)
			return 1;
	return 0;
}

int aero_env_add_credentials(struct aero_env *env)
{
	for (char **e = environ; e != NULL && *e != NULL; e++) {
		const char *eq = strchr(*e, '=');
		if (eq == NULL)
			continue;
		char *name = strndup(*e, (size_t)(eq - *e));
		if (name == NULL)
			return aero_error_set("out of memory");
		const int rc = is_credential(name) ? aero_env_set(env, name, eq + 1) : 0;
		free(name);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int aero_env_add_user(struct aero_env *env, const char *const *items)
{
	for (const char *const *i = items; i != NULL && *i != NULL; i++) {
		const char *eq = strchr(*i, '=');
		if (eq != NULL) {
			char *name = strndup(*i, (size_t)(eq - *i));
			const int rc = name != NULL ? aero_env_set(env, name, eq + 1)
			                            : aero_error_set("out of memory");
			free(name);
			if (rc < 0)
				return -1;
		} else if (set_if(env, *i, getenv(*i)) < 0) {
			return -1;
		}
	}
	return 0;
}

void aero_env_free(struct aero_env *env)
{
	for (size_t i = 0; i < env->count; i++) {
		/* Credentials leave no copy behind in freed memory. */
		explicit_bzero(env->items[i], strlen(env->items[i]));
		free(env->items[i]);
	}
	free(env->items);
	env->items = NULL;
	env->count = 0;
}
