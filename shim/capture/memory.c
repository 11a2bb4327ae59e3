/* system.memory: the machine's memory from /proc/meminfo. */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <stdlib.h>
#include <string.h>

int aero_probe_memory(const struct aero_capture_ctx *ctx, cJSON *part)
{
	char *text = aero_root_read(ctx, "/proc/meminfo", (size_t)1024 * 1024, NULL);
	if (text == NULL)
		return aero_error_set("not captured: %s", aero_error_last());
	const char *total = strstr(text, "MemTotal:");
	const long long kib = total != NULL ? strtoll(total + 9, NULL, 10) : -1;
	free(text);
	if (kib <= 0)
		return aero_error_set("no MemTotal in /proc/meminfo");
	return aero_json_add_number(part, "total_bytes", (double)kib * 1024.0);
}
