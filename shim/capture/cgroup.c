/* system.cgroup: the CPU and memory limits the kernel enforces on us, from
 * cgroup v2 (cpu.max, memory.max, cpuset.cpus.effective) or v1 (CFS quota,
 * memory.limit_in_bytes), and the CPUs we may run on. */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SMALL_MAX ((size_t)64 * 1024)

/* The first line of a file of the tree, trimmed; NULL when it cannot be read. */
static char *first_line(const struct aero_capture_ctx *ctx, const char *dir, const char *file)
{
	const size_t len = strlen(dir) + strlen(file) + 2;
	char *path = malloc(len);
	if (path == NULL)
		return NULL;
	(void)snprintf(path, len, "%s/%s", dir, file);
	char *text = aero_root_read(ctx, path, SMALL_MAX, NULL);
	free(path);
	if (text == NULL)
		return NULL;
	char *line = aero_line_value(text);
	free(text);
	return line;
}

/* Adds key: the number in text, or the text itself ("max") when not a number. */
static int add_limit(cJSON *part, const char *key, const char *text)
{
	if (text == NULL)
		return 0;
	char *end = NULL;
	const double value = strtod(text, &end);
	if (end != text && *end == '\0')
		return aero_json_add_number(part, key, value);
	return aero_json_add_string(part, key, text);
}

/* "0::/system.slice/x" -> "/system.slice/x" (cgroup v2's unified line). */
static char *v2_path(const char *self_cgroup)
{
	const char *line = strstr(self_cgroup, "0::");
	if (line != NULL && (line == self_cgroup || line[-1] == '\n'))
		return aero_line_value(line + 3);
	return strdup("/");
}

static int capture_v2(const struct aero_capture_ctx *ctx, cJSON *part, const char *self_cgroup)
{
	char *rel = v2_path(self_cgroup);
	if (rel == NULL)
		return aero_error_set("out of memory");
	const size_t len = strlen(rel) + 32;
	char *dir = malloc(len);
	if (dir == NULL) {
		free(rel);
		return aero_error_set("out of memory");
	}
	/* With a cgroup namespace the path is "/", and the files are at the top. */
	(void)snprintf(dir, len, "/sys/fs/cgroup%s", strcmp(rel, "/") == 0 ? "" : rel);
	char *cpu_max = first_line(ctx, dir, "cpu.max");
	char *memory_max = first_line(ctx, dir, "memory.max");
	char *cpuset = first_line(ctx, dir, "cpuset.cpus.effective");
	int rc = aero_json_add_number(part, "version", 2);
	if (rc == 0)
		rc = aero_json_add_string(part, "path", rel);
	if (rc == 0 && cpu_max != NULL) {
		/* "QUOTA PERIOD", or "max PERIOD" when unlimited. */
		char *end = NULL;
		const double quota = strtod(cpu_max, &end);
		const double period = end != cpu_max ? strtod(end, NULL) : 0;
		rc = aero_json_add_string(part, "cpu_max", cpu_max);
		if (rc == 0 && end != cpu_max && quota > 0 && period > 0)
			rc = aero_json_add_number(part, "cpu_limit", quota / period);
	}
	if (rc == 0)
		rc = add_limit(part, "memory_max", memory_max);
	if (rc == 0 && cpuset != NULL)
		rc = aero_json_add_string(part, "cpuset", cpuset);
	free(cpu_max);
	free(memory_max);
	free(cpuset);
	free(dir);
	free(rel);
	return rc;
}

static int capture_v1(const struct aero_capture_ctx *ctx, cJSON *part)
{
	char *quota = first_line(ctx, "/sys/fs/cgroup/cpu", "cpu.cfs_quota_us");
	char *period = first_line(ctx, "/sys/fs/cgroup/cpu", "cpu.cfs_period_us");
	char *memory = first_line(ctx, "/sys/fs/cgroup/memory", "memory.limit_in_bytes");
	char *cpuset = first_line(ctx, "/sys/fs/cgroup/cpuset", "cpuset.effective_cpus");
	int rc = aero_json_add_number(part, "version", 1);
	if (rc == 0 && quota != NULL && period != NULL) {
		const double q = strtod(quota, NULL), p = strtod(period, NULL);
		rc = add_limit(part, "cfs_quota_us", quota);
		if (rc == 0)
			rc = add_limit(part, "cfs_period_us", period);
		if (rc == 0 && q > 0 && p > 0)
			rc = aero_json_add_number(part, "cpu_limit", q / p);
	}
	/* v1 says "no limit" with a huge page-aligned number; say "max" as v2 does. */
	if (rc == 0 && memory != NULL && strtod(memory, NULL) >= 4.0e18)
		rc = aero_json_add_string(part, "memory_limit_in_bytes", "max");
	else if (rc == 0)
		rc = add_limit(part, "memory_limit_in_bytes", memory);
	if (rc == 0 && cpuset != NULL)
		rc = aero_json_add_string(part, "cpuset", cpuset);
	free(quota);
	free(period);
	free(memory);
	free(cpuset);
	return rc;
}

/* Cpus_allowed_list from /proc/self/status: where the scheduler may run us. */
static int add_cpus_allowed(const struct aero_capture_ctx *ctx, cJSON *part)
{
	char *status = aero_root_read(ctx, "/proc/self/status", SMALL_MAX, NULL);
	const char *line = status != NULL ? strstr(status, "\nCpus_allowed_list:") : NULL;
	int rc = 0;
	if (line != NULL) {
		char *value = aero_line_value(line + 19);
		rc = value != NULL ? aero_json_add_string(part, "cpus_allowed", value) : -1;
		free(value);
	}
	free(status);
	return rc;
}

int aero_probe_cgroup(const struct aero_capture_ctx *ctx, cJSON *part)
{
	char *self = aero_root_read(ctx, "/proc/self/cgroup", SMALL_MAX, NULL);
	if (self == NULL)
		return aero_error_set("not captured: %s", aero_error_last());
	char *controllers = first_line(ctx, "/sys/fs/cgroup", "cgroup.controllers");
	const int rc = controllers != NULL ? capture_v2(ctx, part, self) : capture_v1(ctx, part);
	free(controllers);
	free(self);
	return rc < 0 ? rc : add_cpus_allowed(ctx, part);
}
