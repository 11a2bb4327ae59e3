#include "sysmetrics.h"

#include "clock.h"
#include "error.h"
#include "files.h"
#include "probes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* nvidia-smi gets this long per sample before it is killed. */
#define GPU_SAMPLE_TIMEOUT_MS 2000L

/* A number that follows `key` in a small file; -1 when absent. */
static double number_after(const char *path, const char *key)
{
	char *text = aero_file_read(path, (size_t)64 * 1024, NULL);
	if (text == NULL)
		return -1;
	const char *at = key != NULL ? strstr(text, key) : text;
	const double value = at != NULL ? strtod(at + (key != NULL ? strlen(key) : 0), NULL) : -1;
	free(text);
	return value;
}

/* CPU seconds used by our cgroup (v2, then v1), else by the whole machine. */
static double cpu_seconds(void)
{
	double usec = number_after("/sys/fs/cgroup/cpu.stat", "usage_usec");
	if (usec >= 0)
		return usec / 1e6;
	const double nsec = number_after("/sys/fs/cgroup/cpuacct/cpuacct.usage", NULL);
	if (nsec >= 0)
		return nsec / 1e9;
	/* /proc/stat: "cpu user nice system idle iowait irq softirq steal ..." in ticks */
	char *stat = aero_file_read("/proc/stat", (size_t)1024 * 1024, NULL);
	double busy = -1;
	if (stat != NULL && strncmp(stat, "cpu ", 4) == 0) {
		unsigned long long v[8] = {0};
		const char *p = stat + 4;
		size_t n = 0;
		for (char *end = NULL; n < 8; n++, p = end) {
			v[n] = strtoull(p, &end, 10);
			if (end == p)
				break;
		}
		if (n == 8) /* all but idle and iowait */
			busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
			       (double)sysconf(_SC_CLK_TCK);
	}
	free(stat);
	return busy;
}

/* Memory in use: the cgroup's (v2, then v1), else MemTotal - MemAvailable. */
static double memory_bytes(void)
{
	double bytes = number_after("/sys/fs/cgroup/memory.current", NULL);
	if (bytes < 0)
		bytes = number_after("/sys/fs/cgroup/memory/memory.usage_in_bytes", NULL);
	if (bytes >= 0)
		return bytes;
	const double total = number_after("/proc/meminfo", "MemTotal:");
	const double available = number_after("/proc/meminfo", "MemAvailable:");
	return total >= 0 && available >= 0 ? (total - available) * 1024 : -1;
}

void aero_sysmetrics_init(struct aero_sysmetrics *m)
{
	m->last_wall = (double)aero_clock_monotonic_ms() / 1000.0;
	m->last_cpu = cpu_seconds();
	m->gpu_off = false;
}

int aero_sysmetrics_sample(struct aero_sysmetrics *m, cJSON *row)
{
	const double wall = (double)aero_clock_monotonic_ms() / 1000.0;
	const double cpu = cpu_seconds();
	int rc = 0;
	if (cpu >= 0 && m->last_cpu >= 0 && wall > m->last_wall)
		rc = aero_json_add_number(row, "cpu_cores",
		                          (cpu - m->last_cpu) / (wall - m->last_wall));
	m->last_wall = wall;
	m->last_cpu = cpu;
	const double memory = memory_bytes();
	if (rc == 0 && memory >= 0)
		rc = aero_json_add_number(row, "memory_bytes", memory);
	if (rc == 0 && !m->gpu_off) {
		rc = aero_gpu_sample(row, GPU_SAMPLE_TIMEOUT_MS);
		m->gpu_off = cJSON_GetObjectItemCaseSensitive(row, "gpu_error") != NULL;
	}
	return rc;
}
