/* system.os and system.kernel. */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define OS_RELEASE_MAX ((size_t)64 * 1024)

/* Removes one level of shell-style quotes and backslash escapes, in place. */
static void unquote(char *value)
{
	const size_t len = strlen(value);
	if (len < 2 || (value[0] != '"' && value[0] != '\'') || value[len - 1] != value[0])
		return;
	char *out = value;
	for (const char *in = value + 1; in < value + len - 1; in++) {
		if (*in == '\\' && in + 1 < value + len - 1)
			in++;
		*out++ = *in;
	}
	*out = '\0';
}

int aero_parse_os_release(const char *text, cJSON *out)
{
	for (const char *line = text; *line != '\0';) {
		const size_t len = strcspn(line, "\n");
		const char *eq = memchr(line, '=', len);
		if (line[0] != '#' && eq != NULL && eq > line) {
			char *key = strndup(line, (size_t)(eq - line));
			char *value = strndup(eq + 1, len - (size_t)(eq - line) - 1);
			int rc;
			if (key == NULL || value == NULL) {
				rc = aero_error_set("out of memory");
			} else {
				unquote(value);
				/* When a key repeats, the last one wins, as in a shell. */
				cJSON_DeleteItemFromObjectCaseSensitive(out, key);
				rc = aero_json_add_string(out, key, value);
			}
			free(key);
			free(value);
			if (rc < 0)
				return -1;
		}
		line += len + (line[len] == '\n');
	}
	return 0;
}

int aero_probe_os(const struct aero_capture_ctx *ctx, cJSON *part)
{
	char *text = aero_root_read(ctx, "/etc/os-release", OS_RELEASE_MAX, NULL);
	if (text == NULL)
		text = aero_root_read(ctx, "/usr/lib/os-release", OS_RELEASE_MAX, NULL);
	if (text == NULL)
		return aero_error_set("no /etc/os-release or /usr/lib/os-release");
	const int rc = aero_parse_os_release(text, part);
	free(text);
	return rc;
}

int aero_probe_kernel(const struct aero_capture_ctx *ctx, cJSON *part)
{
	if (!ctx->live)
		return aero_error_set(
		        "not captured: the kernel is the running system's, not the tree's");
	struct utsname u;
	if (uname(&u) < 0)
		return aero_error_set("uname failed");
	if (aero_json_add_string(part, "sysname", u.sysname) < 0 ||
	    aero_json_add_string(part, "release", u.release) < 0 ||
	    aero_json_add_string(part, "version", u.version) < 0 ||
	    aero_json_add_string(part, "machine", u.machine) < 0)
		return -1;
	return 0;
}
