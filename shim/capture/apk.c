/* packages.apk: Alpine's installed database, "X:value" lines per package. */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <stdlib.h>
#include <string.h>

#define APK_MAX ((size_t)256 * 1024 * 1024)

static int emit(cJSON *packages, char *fields[4])
{
	static const char *const names[4] = {"name", "version", "architecture", "origin"};
	int rc = 0;
	if (fields[0] != NULL) {
		cJSON *pkg = cJSON_CreateObject();
		if (pkg == NULL || !cJSON_AddItemToArray(packages, pkg)) {
			cJSON_Delete(pkg);
			rc = aero_error_set("out of memory");
		}
		for (int i = 0; rc == 0 && i < 4; i++)
			if (fields[i] != NULL)
				rc = aero_json_add_string(pkg, names[i], fields[i]);
	}
	for (int i = 0; i < 4; i++) {
		free(fields[i]);
		fields[i] = NULL;
	}
	return rc;
}

int aero_parse_apk_installed(const char *text, cJSON *packages)
{
	char *fields[4] = {NULL, NULL, NULL, NULL}; /* P, V, A, o */
	int rc = 0;
	for (const char *line = text; rc == 0;) {
		const size_t len = strcspn(line, "\n");
		if (len == 0) {
			rc = emit(packages, fields);
		} else if (len >= 2 && line[1] == ':') {
			const char *slot = strchr("PVAo", line[0]);
			if (slot != NULL && line[0] != '\0') {
				const size_t i = (size_t)(slot - "PVAo");
				free(fields[i]);
				fields[i] = aero_line_value(line + 2);
				if (fields[i] == NULL)
					rc = -1;
			}
		}
		if (line[len] == '\0')
			break;
		line += len + 1;
	}
	const int last = emit(packages, fields);
	return rc < 0 ? rc : last;
}

int aero_probe_apk(const struct aero_capture_ctx *ctx, cJSON *part)
{
	char *text = aero_root_read(ctx, "/lib/apk/db/installed", APK_MAX, NULL);
	if (text == NULL)
		return aero_json_add_string(part, "absent", "no apk database");
	cJSON *packages = aero_json_add_array(part, "packages");
	int rc = packages != NULL ? aero_parse_apk_installed(text, packages) : -1;
	free(text);
	if (rc == 0)
		rc = aero_json_sort_array(packages, "name", "architecture");
	if (rc == 0)
		rc = aero_json_add_number(part, "count", cJSON_GetArraySize(packages));
	return rc;
}
