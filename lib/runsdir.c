/* Where runs and the artifact cache live, and new runs' ids. */
#include "runsdir.h"

#include "error.h"
#include "hex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

char *aero_path_join(const char *dir, const char *name)
{
	const size_t len = strlen(dir) + strlen(name) + 2;
	char *path = malloc(len);
	if (path != NULL)
		(void)snprintf(path, len, "%s/%s", dir, name);
	return path;
}

char *aero_runs_dir(void)
{
	const char *runs = getenv("AERO_RUNS_DIR");
	if (runs != NULL && runs[0] != '\0')
		return strdup(runs);
	const char *data = getenv("XDG_DATA_HOME");
	if (data != NULL && data[0] == '/')
		return aero_path_join(data, "aeromancy/runs");
	const char *home = getenv("HOME");
	if (home != NULL && home[0] == '/')
		return aero_path_join(strcmp(home, "/") == 0 ? "" : home,
		                      ".local/share/aeromancy/runs");
	return strdup("/var/lib/aeromancy/runs");
}

char *aero_cache_dir(void)
{
	const char *cache = getenv("AERO_CACHE_DIR");
	if (cache != NULL && cache[0] == '/')
		return strdup(cache);
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg != NULL && xdg[0] == '/')
		return aero_path_join(xdg, "aeromancy");
	const char *home = getenv("HOME");
	if (home != NULL && home[0] == '/')
		return aero_path_join(strcmp(home, "/") == 0 ? "" : home, ".cache/aeromancy");
	return strdup("/var/cache/aeromancy");
}

char *aero_run_id_new(void)
{
	unsigned char bytes[4];
	if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes)) {
		aero_error_set("no random bytes for the run id");
		return NULL;
	}
	char hex[2 * sizeof(bytes) + 1];
	aero_hex_encode(bytes, sizeof(bytes), hex);
	const time_t now = time(NULL);
	struct tm tm;
	char when[32];
	if (gmtime_r(&now, &tm) == NULL || strftime(when, sizeof(when), "%Y%m%d-%H%M%S", &tm) == 0)
		(void)snprintf(when, sizeof(when), "%lld", (long long)now);
	const size_t len = strlen(when) + sizeof(hex) + 1;
	char *id = malloc(len);
	if (id == NULL)
		aero_error_set("out of memory");
	else
		(void)snprintf(id, len, "%s-%s", when, hex);
	return id;
}

bool aero_run_id_valid(const char *id)
{
	const size_t len = strlen(id);
	return len > 0 && len <= 64 && id[0] != '.' &&
	       strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	               len;
}

int aero_mkdirs(const char *dir)
{
	char *copy = strdup(dir);
	if (copy == NULL)
		return aero_error_set("out of memory");
	for (char *p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
			const int rc =
			        aero_error_set("cannot create '%s': %s", copy, strerror(errno));
			free(copy);
			return rc;
		}
		*p = '/';
	}
	free(copy);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return aero_error_set("cannot create '%s': %s", dir, strerror(errno));
	return 0;
}
