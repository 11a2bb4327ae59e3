/* A past run's manifest, read for a rerun: its commit, image, seed, inputs,
 * command, pipeline configuration and privileges. */
#include "rerun_plan.h"

#include "canonjson.h"
#include "error.h"
#include "file.h"
#include "log.h"
#include "redact.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX ((size_t)1024 * 1024 * 1024)

static const cJSON *at(const cJSON *json, const char *section, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(json, section),
	                                        key);
}

/* A copy of the string at section.key; NULL when absent. -1 when out of memory. */
static int copy_string(const cJSON *json, const char *section, const char *key, char **out)
{
	const cJSON *v = at(json, section, key);
	*out = NULL;
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
		return 0;
	*out = strdup(v->valuestring);
	return *out != NULL ? 0 : -1;
}

static int append(char ***list, size_t *count, char *item)
{
	char **bigger = item != NULL ? realloc(*list, (*count + 2) * sizeof(char *)) : NULL;
	if (bigger == NULL) {
		free(item);
		return -1;
	}
	bigger[(*count)++] = item;
	bigger[*count] = NULL;
	*list = bigger;
	return 0;
}

/* NAME=sha256:HEX for each input; a name got at two versions keeps the last,
 * since an override applies to every request for the name. */
static int read_inputs(const cJSON *manifest, struct aero_rerun_plan *plan)
{
	const cJSON *input;
	cJSON_ArrayForEach(input, cJSON_GetObjectItemCaseSensitive(manifest, "inputs"))
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(input, "name");
		const cJSON *digest = cJSON_GetObjectItemCaseSensitive(input, "digest");
		if (!cJSON_IsString(name) || !cJSON_IsString(digest))
			continue;
		const size_t len = strlen(name->valuestring);
		for (size_t i = 0; i < plan->override_count; i++)
			if (strncmp(plan->overrides[i], name->valuestring, len) == 0 &&
			    plan->overrides[i][len] == '=') {
				aero_log_warn(
				        "the run got more than one version of '%s'; the rerun "
				        "pins the last it got, %s",
				        name->valuestring, digest->valuestring);
				free(plan->overrides[i]);
				plan->overrides[i] = plan->overrides[--plan->override_count];
				plan->overrides[plan->override_count] = NULL;
				break;
			}
		char *item = NULL;
		if (asprintf(&item, "%s=%s", name->valuestring, digest->valuestring) < 0)
			item = NULL;
		if (append(&plan->overrides, &plan->override_count, item) < 0)
			return -1;
	}
	return 0;
}

static int read_command(const cJSON *manifest, struct aero_rerun_plan *plan)
{
	const cJSON *arg;
	cJSON_ArrayForEach(arg, at(manifest, "run", "argv"))
	{
		if (!cJSON_IsString(arg))
			continue;
		if (append(&plan->command, &plan->command_count, strdup(arg->valuestring)) < 0)
			return -1;
	}
	return 0;
}

/* A pipeline task's configuration, passed again as AERO_CONFIG. */
static int read_config(const cJSON *manifest, struct aero_rerun_plan *plan)
{
	const cJSON *config =
	        cJSON_GetObjectItemCaseSensitive(at(manifest, "run", "pipeline"), "config");
	if (config == NULL)
		return 0;
	plan->config = aero_json_canonical(config);
	return plan->config != NULL ? 0 : -1;
}

/* The experiment's privileges (run.privileges), so that the rerun runs as the
 * same user, with the same capabilities and the same hermetic filter. */
static int read_privileges(const cJSON *manifest, struct aero_rerun_plan *plan)
{
	const cJSON *privileges = at(manifest, "run", "privileges");
	if (!cJSON_IsObject(privileges))
		return 0;
	const cJSON *uid = cJSON_GetObjectItemCaseSensitive(privileges, "uid");
	const cJSON *gid = cJSON_GetObjectItemCaseSensitive(privileges, "gid");
	if (cJSON_IsNumber(uid) && cJSON_IsNumber(gid) &&
	    (uid->valuedouble != 0 || gid->valuedouble != 0) &&
	    asprintf(&plan->user, "%.0f:%.0f", uid->valuedouble, gid->valuedouble) < 0) {
		plan->user = NULL;
		return -1;
	}
	const cJSON *cap;
	cJSON_ArrayForEach(
	        cap,
	        cJSON_GetObjectItemCaseSensitive(
	                cJSON_GetObjectItemCaseSensitive(privileges, "capabilities"), "effective"))
	{
		char *longer = NULL;
		if (!cJSON_IsString(cap))
			continue;
		if (asprintf(&longer, "%s%s%s", plan->caps != NULL ? plan->caps : "",
		             plan->caps != NULL ? "," : "", cap->valuestring) < 0)
			return -1;
		free(plan->caps);
		plan->caps = longer;
	}
	plan->hermetic = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(privileges, "hermetic"));
	plan->allow_new_privs =
	        cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(privileges, "no_new_privs"));
	return 0;
}

static int check(const cJSON *manifest, const char *run_dir, const struct aero_rerun_plan *plan)
{
	if (cJSON_IsTrue(at(manifest, "run", "dev")))
		return aero_error_set("%s is a dev run (--dev): it recorded no commit and no "
		                      "image to run again; run it with 'aero-launch run'",
		                      run_dir);
	if (plan->commit == NULL)
		return aero_error_set("%s recorded no commit (aero-launch did not start it), so "
		                      "there is nothing to check out and run again",
		                      run_dir);
	return 0;
}

int aero_rerun_plan_read(const char *run_dir, struct aero_rerun_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	cJSON *manifest = aero_file_read_json(run_dir, "manifest.json", MANIFEST_MAX);
	if (manifest == NULL || !cJSON_IsArray(at(manifest, "run", "argv"))) {
		cJSON_Delete(manifest);
		aero_error_set("%s/manifest.json is not a run manifest that names a command",
		               run_dir);
		return -AERO_EXIT_INTERNAL;
	}
	int rc = 0;
	if (copy_string(manifest, "run", "id", &plan->id) < 0 ||
	    copy_string(manifest, "git", "commit", &plan->commit) < 0 ||
	    copy_string(manifest, "git", "remote", &plan->remote) < 0 ||
	    copy_string(manifest, "image", "id", &plan->image_id) < 0 ||
	    copy_string(manifest, "image", "name", &plan->image_name) < 0 ||
	    copy_string(manifest, "seed", "base", &plan->seed) < 0 ||
	    copy_string(manifest, "seed", "task", &plan->task) < 0 ||
	    read_inputs(manifest, plan) < 0 || read_command(manifest, plan) < 0 ||
	    read_config(manifest, plan) < 0 || read_privileges(manifest, plan) < 0) {
		aero_error_set("out of memory");
		rc = -AERO_EXIT_INTERNAL;
	} else if (check(manifest, run_dir, plan) < 0) {
		rc = -AERO_EXIT_NO_COMMIT;
	} else if (plan->command_count == 0) {
		aero_error_set("%s recorded an empty command", run_dir);
		rc = -AERO_EXIT_INTERNAL;
	}
	cJSON_Delete(manifest);
	if (rc < 0)
		aero_rerun_plan_free(plan);
	return rc;
}

const char *aero_rerun_plan_redacted(const struct aero_rerun_plan *plan)
{
	for (size_t i = 0; i < plan->command_count; i++)
		if (strstr(plan->command[i], AERO_REDACTED) != NULL)
			return plan->command[i];
	return NULL;
}

static void free_list(char **list)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

void aero_rerun_plan_free(struct aero_rerun_plan *plan)
{
	free(plan->id);
	free(plan->commit);
	free(plan->remote);
	free(plan->image_id);
	free(plan->image_name);
	free(plan->seed);
	free(plan->task);
	free(plan->config);
	free(plan->user);
	free(plan->caps);
	free_list(plan->overrides);
	free_list(plan->command);
	memset(plan, 0, sizeof(*plan));
}
