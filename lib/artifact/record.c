/* Version records and their lineage. */
#include "record.h"

#include "canonjson.h"
#include "clock.h"
#include "error.h"
#include "file.h"
#include "journal.h"
#include "runsdir.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The run manifest's limit (shim/artifact_record.c reads it too). */
#define RUN_MANIFEST_MAX ((size_t)64 << 20)

/* The variable env, else section.key of the run's manifest.json (a run
 * started by aero-init alone exports no AERO_RUN_ID), else null. */
static cJSON *string_or_null(const char *env, const cJSON *manifest, const char *section,
                             const char *key)
{
	const char *value = getenv(env);
	if (value != NULL && value[0] != '\0')
		return cJSON_CreateString(value);
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(manifest, section), key);
	return cJSON_IsString(item) ? cJSON_CreateString(item->valuestring) : cJSON_CreateNull();
}

/* The gets recorded in the run directory's journal, as {name, version, digest}. */
static int read_inputs(cJSON *inputs)
{
	const char *run_dir = getenv("AERO_RUN_DIR");
	if (run_dir == NULL || run_dir[0] == '\0')
		return 0;
	cJSON *got = cJSON_CreateArray();
	if (got == NULL || aero_artifact_journal_read(run_dir, got, NULL) < 0) {
		cJSON_Delete(got);
		return -1;
	}
	int rc = 0;
	const cJSON *entry;
	cJSON_ArrayForEach(entry, got)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(entry, "name");
		const cJSON *version = cJSON_GetObjectItemCaseSensitive(entry, "version");
		const cJSON *digest = cJSON_GetObjectItemCaseSensitive(entry, "digest");
		if (!cJSON_IsString(name) || !cJSON_IsNumber(version) || !cJSON_IsString(digest))
			continue;
		cJSON *in = cJSON_CreateObject();
		if (in == NULL || cJSON_AddStringToObject(in, "name", name->valuestring) == NULL ||
		    cJSON_AddNumberToObject(in, "version", version->valuedouble) == NULL ||
		    cJSON_AddStringToObject(in, "digest", digest->valuestring) == NULL ||
		    !cJSON_AddItemToArray(inputs, in)) {
			cJSON_Delete(in);
			rc = aero_error_set("out of memory recording the lineage");
			break;
		}
	}
	cJSON_Delete(got);
	return rc;
}

cJSON *aero_artifact_lineage_new(void)
{
	const char *run_dir = getenv("AERO_RUN_DIR");
	cJSON *manifest = run_dir != NULL && run_dir[0] != '\0'
	                          ? aero_file_read_json(run_dir, "manifest.json", RUN_MANIFEST_MAX)
	                          : NULL;
	cJSON *lineage = cJSON_CreateObject();
	cJSON *inputs = cJSON_CreateArray();
	const bool read = inputs != NULL && read_inputs(inputs) == 0;
	const bool ok =
	        lineage != NULL && read &&
	        cJSON_AddItemToObject(lineage, "run",
	                              string_or_null("AERO_RUN_ID", manifest, "run", "id")) &&
	        cJSON_AddItemToObject(
	                lineage, "git_commit",
	                string_or_null("AERO_GIT_COMMIT", manifest, "git", "commit")) &&
	        cJSON_AddItemToObject(lineage, "image_id",
	                              string_or_null("AERO_IMAGE_ID", manifest, "image", "id")) &&
	        cJSON_AddItemToObject(lineage, "inputs", inputs);
	cJSON_Delete(manifest);
	if (!ok) {
		const bool owned = lineage != NULL &&
		                   cJSON_GetObjectItemCaseSensitive(lineage, "inputs") == inputs;
		cJSON_Delete(lineage);
		if (!owned)
			cJSON_Delete(inputs);
		if (inputs == NULL || read) /* else read_inputs said why */
			aero_error_set("out of memory recording the lineage");
		return NULL;
	}
	return lineage;
}

char *aero_artifact_version_make(struct aero_artifact_version *v, cJSON *lineage)
{
	char created[AERO_UTC_SIZE], digest[72];
	aero_clock_utc_now(created);
	(void)snprintf(digest, sizeof(digest), "sha256:%s", v->manifest);
	cJSON *json = cJSON_CreateObject();
	if (json == NULL || cJSON_AddStringToObject(json, "name", v->name) == NULL ||
	    cJSON_AddNumberToObject(json, "version", (double)v->version) == NULL ||
	    cJSON_AddStringToObject(json, "manifest", digest) == NULL ||
	    cJSON_AddNumberToObject(json, "files", (double)v->files) == NULL ||
	    cJSON_AddNumberToObject(json, "size", (double)v->size) == NULL ||
	    cJSON_AddStringToObject(json, "created", created) == NULL ||
	    !cJSON_AddItemToObject(json, "lineage", lineage)) {
		cJSON_Delete(json);
		cJSON_Delete(lineage);
		aero_error_set("out of memory writing a version record");
		return NULL;
	}
	char *text = aero_json_canonical(json);
	if (text == NULL) {
		cJSON_Delete(json);
		return NULL;
	}
	cJSON_Delete(v->json);
	v->json = json;
	return text;
}

static bool whole_number(const cJSON *n)
{
	return cJSON_IsNumber(n) && n->valuedouble >= 0 && n->valuedouble <= 9007199254740991.0 &&
	       n->valuedouble == (double)(uint64_t)n->valuedouble;
}

int aero_artifact_version_parse(const char *text, size_t len, const char *name, uint64_t version,
                                struct aero_artifact_version *v)
{
	memset(v, 0, sizeof(*v));
	cJSON *json = cJSON_ParseWithLength(text, len);
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(json, "name");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(json, "version");
	const cJSON *manifest = cJSON_GetObjectItemCaseSensitive(json, "manifest");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(json, "files");
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(json, "size");
	int rc = 0;
	if (strlen(name) > AERO_ARTIFACT_NAME_MAX)
		rc = aero_error_set("the name '%.40s...' is too long", name);
	else if (!cJSON_IsObject(json))
		rc = aero_error_set("it is not a JSON object");
	else if (!cJSON_IsString(n) || strcmp(n->valuestring, name) != 0 || !whole_number(ver) ||
	         (uint64_t)ver->valuedouble != version)
		rc = aero_error_set("it does not say it is version %llu of '%s'",
		                    (unsigned long long)version, name);
	else if (!cJSON_IsString(manifest) || strncmp(manifest->valuestring, "sha256:", 7) != 0 ||
	         aero_artifact_hex_check(manifest->valuestring + 7, "manifest") < 0)
		rc = aero_error_set("its manifest is not sha256:<64 hex digits>");
	else if (!whole_number(files) || !whole_number(size))
		rc = aero_error_set("its files or size is not a whole number");
	if (rc < 0) {
		cJSON_Delete(json);
		return rc;
	}
	memcpy(v->name, name, strlen(name) + 1);
	v->version = version;
	memcpy(v->manifest, manifest->valuestring + 7, 65);
	v->files = (uint64_t)files->valuedouble;
	v->size = (uint64_t)size->valuedouble;
	v->json = json;
	return 0;
}

void aero_artifact_version_free(struct aero_artifact_version *v)
{
	cJSON_Delete(v->json);
	v->json = NULL;
}
