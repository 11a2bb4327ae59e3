/* packages.conda: conda environments, from the JSON records in their conda-meta. */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_MAX ((size_t)64 * 1024 * 1024)

/* Where conda installs live, relative to the tree. */
static const char *const meta_patterns[] = {
        "/opt/*/conda-meta",         "/opt/*/envs/*/conda-meta", "/root/*/conda-meta",
        "/root/*/envs/*/conda-meta", "/home/*/*/conda-meta",     "/home/*/*/envs/*/conda-meta",
        "/usr/local/conda-meta",
};

static int add_record(const char *path, cJSON *packages)
{
	char *text = aero_file_read(path, RECORD_MAX, NULL);
	cJSON *doc = text != NULL ? cJSON_Parse(text) : NULL;
	free(text);
	if (doc == NULL)
		return 0; /* not a record: skip it, as conda would */
	static const char *const keys[] = {"name", "version", "build", "channel"};
	cJSON *pkg = cJSON_CreateObject();
	int rc = pkg != NULL && cJSON_AddItemToArray(packages, pkg) ? 0 : -1;
	if (rc < 0)
		cJSON_Delete(pkg);
	for (size_t i = 0; rc == 0 && i < sizeof(keys) / sizeof(keys[0]); i++) {
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(doc, keys[i]);
		if (cJSON_IsString(value))
			rc = aero_json_add_string(pkg, keys[i], value->valuestring);
	}
	cJSON_Delete(doc);
	return rc < 0 ? aero_error_set("out of memory") : 0;
}

static int add_environment(const struct aero_capture_ctx *ctx, const char *meta, cJSON *envs)
{
	const size_t len = strlen(meta) + 8;
	char *pattern = malloc(len);
	if (pattern == NULL)
		return aero_error_set("out of memory");
	(void)snprintf(pattern, len, "%s/*.json", meta);
	glob_t g;
	const int found = glob(pattern, 0, NULL, &g);
	free(pattern);
	if (found != 0)
		return 0;
	cJSON *env = cJSON_CreateObject();
	cJSON *packages = env != NULL ? cJSON_AddArrayToObject(env, "packages") : NULL;
	int rc = packages != NULL && cJSON_AddItemToArray(envs, env) ? 0 : -1;
	if (rc < 0)
		cJSON_Delete(env);
	for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
		rc = add_record(g.gl_pathv[i], packages);
	globfree(&g);
	if (rc < 0)
		return aero_error_set("out of memory");
	/* The prefix is the directory that holds conda-meta. */
	char *prefix = strndup(meta + strlen(ctx->root), strlen(meta) - strlen(ctx->root) - 11);
	rc = prefix != NULL ? aero_json_add_string(env, "prefix", *prefix ? prefix : "/") : -1;
	free(prefix);
	if (rc == 0)
		rc = aero_json_sort_array(packages, "name", NULL);
	return rc == 0 ? aero_json_add_number(env, "count", cJSON_GetArraySize(packages)) : -1;
}

int aero_probe_conda(const struct aero_capture_ctx *ctx, cJSON *part)
{
	cJSON *envs = aero_json_add_array(part, "environments");
	if (envs == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(meta_patterns) / sizeof(meta_patterns[0]); i++) {
		char *pattern = aero_root_path(ctx, meta_patterns[i]);
		glob_t g;
		const int found = pattern != NULL ? glob(pattern, GLOB_ONLYDIR, NULL, &g) : -1;
		free(pattern);
		if (found != 0)
			continue;
		int rc = 0;
		for (size_t j = 0; rc == 0 && j < g.gl_pathc; j++)
			rc = add_environment(ctx, g.gl_pathv[j], envs);
		globfree(&g);
		if (rc < 0)
			return -1;
	}
	return aero_json_sort_array(envs, "prefix", NULL);
}
