/* System metrics: what the experiment uses, sampled every so often into the
 * run directory's system.jsonl. */
#ifndef AERO_SHIM_SYSMETRICS_H
#define AERO_SHIM_SYSMETRICS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

struct aero_sysmetrics {
	double last_wall; /* seconds (CLOCK_MONOTONIC) at the previous sample */
	double last_cpu;  /* CPU seconds used by then; < 0 before the first */
	bool gpu_off;     /* nvidia-smi failed once: not asked again */
};

/* Prepares sampling; the first sample then has no CPU figure (nothing to
 * compare with yet). */
void aero_sysmetrics_init(struct aero_sysmetrics *m);

/* Fills row with cpu_cores (CPUs' worth used since the last sample, from the
 * cgroup, else /proc/stat), memory_bytes (the cgroup's, else the machine's
 * used memory) and, where nvidia-smi answers, per-GPU utilisation and memory. */
int aero_sysmetrics_sample(struct aero_sysmetrics *m, cJSON *row);

#endif
