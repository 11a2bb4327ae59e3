/* GET /images/{name}/json: the engine's answer to "which image is this?". */
#include "image_id.h"

#include "error.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int aero_image_id(const struct aero_engine *eng, const char *ref, char **id)
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
		}
		cJSON_Delete(doc);
	}
	aero_buf_free(&response);
	free(path);
	return rc;
}
