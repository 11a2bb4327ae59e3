/* git, image, run.dev and run.pipeline: what aero-launch knew when it started the run, as
 * it passed it in AERO_GIT_*, AERO_IMAGE_*, AERO_DEV and AERO_PIPELINE. Nothing here is
 * read from the tree: the launcher read the repository and built the image. */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <stdlib.h>
#include <string.h>

static int add_from_env(cJSON *part, const char *key, const char *name)
{
	const char *value = getenv(name);
	return value != NULL ? aero_json_add_string(part, key, value) : 0;
}

int aero_probe_git(const struct aero_capture_ctx *ctx, cJSON *part)
{
	(void)ctx;
	const char *commit = getenv("AERO_GIT_COMMIT");
	if (commit == NULL)
		return aero_json_add_string(part, "absent",
		                            "not started by aero-launch in a Git "
		                            "checkout (no AERO_GIT_COMMIT)");
	const char *pushed = getenv("AERO_GIT_PUSHED");
	if (aero_json_add_string(part, "commit", commit) < 0 ||
	    add_from_env(part, "branch", "AERO_GIT_BRANCH") < 0 ||
	    add_from_env(part, "remote", "AERO_GIT_REMOTE") < 0 ||
	    add_from_env(part, "message", "AERO_GIT_MESSAGE") < 0 ||
	    (pushed != NULL &&
	     cJSON_AddBoolToObject(part, "pushed", strcmp(pushed, "1") == 0) == NULL))
		return aero_error_set("out of memory");
	return 0;
}

int aero_probe_image(const struct aero_capture_ctx *ctx, cJSON *part)
{
	(void)ctx;
	if (getenv("AERO_IMAGE_ID") == NULL)
		return aero_json_add_string(part, "absent",
		                            "not started by aero-launch in a "
		                            "container (no AERO_IMAGE_ID)");
	if (add_from_env(part, "id", "AERO_IMAGE_ID") < 0 ||
	    add_from_env(part, "name", "AERO_IMAGE_NAME") < 0)
		return -1;
	return 0;
}

int aero_probe_run_dev(const struct aero_capture_ctx *ctx, cJSON *part)
{
	(void)ctx;
	const char *dev = getenv("AERO_DEV");
	if (cJSON_AddBoolToObject(part, "dev", dev != NULL && strcmp(dev, "1") == 0) == NULL)
		return aero_error_set("out of memory");
	return 0;
}

int aero_probe_run_pipeline(const struct aero_capture_ctx *ctx, cJSON *part)
{
	(void)ctx;
	const char *text = getenv("AERO_PIPELINE");
	if (text == NULL || text[0] == '\0')
		return 0;
	cJSON *pipeline = cJSON_Parse(text);
	if (!cJSON_IsObject(pipeline)) {
		cJSON_Delete(pipeline);
		return aero_json_add_string(part, "pipeline",
		                            "AERO_PIPELINE was set but is not a JSON object");
	}
	if (!cJSON_AddItemToObject(part, "pipeline", pipeline)) {
		cJSON_Delete(pipeline);
		return aero_error_set("out of memory");
	}
	return 0;
}
