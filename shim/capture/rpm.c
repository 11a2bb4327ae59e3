/* packages.rpm: RPM's database is a SQLite or Berkeley DB file of binary
 * headers; reading it well needs more than this probe does yet, so it says
 * "not captured" rather than guess. */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <stdlib.h>
#include <sys/stat.h>

int aero_probe_rpm(const struct aero_capture_ctx *ctx, cJSON *part)
{
	static const char *const databases[] = {
	        "/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite",
	        "/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages"};
	for (size_t i = 0; i < sizeof(databases) / sizeof(databases[0]); i++) {
		char *path = aero_root_path(ctx, databases[i]);
		struct stat st;
		const int present = path != NULL && stat(path, &st) == 0;
		free(path);
		if (!present)
			continue;
		if (aero_json_add_string(part, "database", databases[i]) < 0)
			return -1;
		return aero_json_add_string(part, "not_captured",
		                            "reading RPM databases is not supported yet");
	}
	return aero_json_add_string(part, "absent", "no rpm database");
}
