/* system.libc: the captured tree's C library, never the one aero-init was
 * linked with (a static binary's gnu_get_libc_version() reports its own). */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const libc_dirs[] = {"/lib/x86_64-linux-gnu",
                                        "/lib/aarch64-linux-gnu",
                                        "/usr/lib/x86_64-linux-gnu",
                                        "/usr/lib/aarch64-linux-gnu",
                                        "/lib64",
                                        "/usr/lib64",
                                        "/lib",
                                        "/usr/lib"};

/* Finds "GNU C Library (...) stable release version 2.36." in libc.so.6. */
static int glibc_banner(const char *data, size_t len, cJSON *part)
{
	static const char marker[] = "GNU C Library";
	for (const char *p = data; p != NULL && p < data + len;) {
		p = memmem(p, (size_t)(data + len - p), marker, sizeof(marker) - 1);
		if (p == NULL)
			break;
		const char *end = memchr(p, '\0', (size_t)(data + len - p));
		const size_t n = end != NULL ? (size_t)(end - p) : 0;
		const char *version = n ? memmem(p, n, "version ", 8) : NULL;
		if (version != NULL) {
			/* Bounded by the NUL found above: the mapping has no terminator. */
			const char *newline = memchr(p, '\n', n);
			char *banner = strndup(p, newline != NULL ? (size_t)(newline - p) : n);
			char *number = strndup(version + 8, strspn(version + 8, "0123456789."));
			int rc = banner && number ? 1 : aero_error_set("out of memory");
			const size_t vlen = number ? strlen(number) : 0;
			if (vlen > 0 && number[vlen - 1] == '.')
				number[vlen - 1] = '\0';
			if (rc == 1 && (aero_json_add_string(part, "family", "glibc") < 0 ||
			                aero_json_add_string(part, "version", number) < 0 ||
			                aero_json_add_string(part, "banner", banner) < 0))
				rc = -1;
			free(banner);
			free(number);
			return rc;
		}
		p += sizeof(marker) - 1;
	}
	return 0;
}

static int find_musl(const struct aero_capture_ctx *ctx, cJSON *part)
{
	char *lib = aero_root_path(ctx, "/lib");
	if (lib == NULL)
		return -1;
	DIR *dir = opendir(lib);
	free(lib);
	if (dir == NULL)
		return 0;
	int found = 0;
	const struct dirent *e;
	while (found == 0 && (e = readdir(dir)) != NULL) {
		if (strncmp(e->d_name, "ld-musl-", 8) != 0)
			continue;
		found = 1;
		if (aero_json_add_string(part, "family", "musl") < 0 ||
		    aero_json_add_string(part, "loader", e->d_name) < 0)
			found = -1;
	}
	closedir(dir);
	return found;
}

int aero_probe_libc(const struct aero_capture_ctx *ctx, cJSON *part)
{
	for (size_t i = 0; i < sizeof(libc_dirs) / sizeof(libc_dirs[0]); i++) {
		char path[128];
		(void)snprintf(path, sizeof(path), "%s/libc.so.6", libc_dirs[i]);
		size_t len = 0;
		const char *data = aero_root_map(ctx, path, &len);
		if (data == NULL)
			continue;
		const int rc = glibc_banner(data, len, part);
		aero_root_unmap(data, len);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return aero_json_add_string(part, "path", path);
	}
	const int musl = find_musl(ctx, part);
	if (musl != 0)
		return musl < 0 ? -1 : 0;
	return aero_error_set("no C library found (neither glibc's libc.so.6 nor musl's loader)");
}
