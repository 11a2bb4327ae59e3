/* GET /images/{name}/json: the engine's answer to "which image is this?". */
#include "image_id.h"

#include "canonjson.h"
#include "error.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the image runs: {"layers", "entrypoint", "cmd", "env", "workdir", "user"}. */
static int content_of(const cJSON *doc, char **content)
{
	const cJSON *config = cJSON_GetObjectItemCaseSensitive(doc, "Config");
	const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(doc, "RootFS");
	static const char *const keys[][2] = {{"Entrypoint", "entrypoint"},
	                                      {"Cmd", "cmd"},
	                                      {"Env", "env"},
	                                      {"WorkingDir", "workdir"},
	                                      {"User", "user"}};
	cJSON *parts = cJSON_CreateObject();
	cJSON *layers = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rootfs, "Layers"), true);
	bool ok = parts != NULL && layers != NULL && cJSON_AddItemToObject(parts, "layers", layers);
	if (!ok)
		cJSON_Delete(layers);
	for (size_t i = 0; ok && i < sizeof(keys) / sizeof(keys[0]); i++) {
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(config, keys[i][0]);
		cJSON *copy = value != NULL ? cJSON_Duplicate(value, true) : cJSON_CreateNull();
		ok = copy != NULL && cJSON_AddItemToObject(parts, keys[i][1], copy);
		if (!ok)
			cJSON_Delete(copy);
	}
	char fingerprint[72];
	ok = ok && aero_json_fingerprint(parts, fingerprint) == 0 &&
	     (*content = strdup(fingerprint)) != NULL;
	cJSON_Delete(parts);
	return ok ? 0 : aero_error_set("out of memory");
}

int aero_image_id(const struct aero_engine *eng, const char *ref, char **id)
{
	return aero_image_content(eng, ref, id, NULL);
}

int aero_image_content(const struct aero_engine *eng, const char *ref, char **id, char **content)
{
	*id = NULL;
	char *quoted = aero_engine_escape(ref);
	char *path = NULL;
	if (quoted == NULL || asprintf(&path, "/images/%s/json", quoted) < 0)
		path = NULL;
	free(quoted);
	if (path == NULL) {
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	struct aero_buf response = {0};
	long status = 0;
	int rc = 0;
	if (aero_engine_request(eng, "GET", path, NULL, &status, &response) < 0) {
		rc = -AERO_EXIT_ENGINE;
	} else if (status == 404) {
		aero_error_set("the engine has no image '%s': build or pull it first", ref);
		rc = -AERO_EXIT_BASE_IMAGE;
	} else if (status != 200) {
		aero_error_set("the engine could not look up image '%s' (HTTP %ld): %s", ref,
		               status, aero_engine_message(&response));
		rc = -AERO_EXIT_ENGINE;
	} else {
		cJSON *doc = cJSON_ParseWithLength(response.data, response.len);
		const cJSON *given = cJSON_GetObjectItemCaseSensitive(doc, "Id");
		if (cJSON_IsString(given) && strncmp(given->valuestring, "sha256:", 7) == 0)
			*id = strdup(given->valuestring);
		if (*id == NULL) {
			aero_error_set("the engine's answer about image '%s' has no id", ref);
			rc = -AERO_EXIT_ENGINE;
		} else if (content != NULL && content_of(doc, content) < 0) {
			rc = -AERO_EXIT_INTERNAL;
		}
		cJSON_Delete(doc);
	}
	aero_buf_free(&response);
	free(path);
	return rc;
}
