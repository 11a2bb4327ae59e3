/* AERO_CONFIG into config.json. */
#include "env_config.h"

#include "error.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

int aero_env_config_apply(struct aero_spool *spool)
{
	const char *text = getenv("AERO_CONFIG");
	if (text == NULL || text[0] == '\0')
		return 0;
	cJSON *config = cJSON_Parse(text);
	if (!cJSON_IsObject(config)) {
		cJSON_Delete(config);
		return aero_error_set("AERO_CONFIG is not a JSON object such as {\"lr\": 0.1}: set "
		                      "it to one, or unset it");
	}
	const int rc = aero_spool_merge(spool, "config.json", config);
	cJSON_Delete(config);
	return rc;
}
