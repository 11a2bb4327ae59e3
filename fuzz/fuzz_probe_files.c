/* The capture probes that read files of the captured tree (shim/capture/):
 * the input's first byte picks a probe, and its parts (split at lines "%%")
 * become that probe's files in a temporary root, which the probe then
 * captures as it would an image's tree (ctx.root, not live). */
#include "probes.h"

#include "canonjson.h"
#include "log.h"
#include "support.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FILES 6

static const struct {
	aero_probe_fill fill;
	const char *files[MAX_FILES];
} probes[] = {
        {aero_probe_cgroup,
         {"proc/self/cgroup", "sys/fs/cgroup/cgroup.controllers", "sys/fs/cgroup/cpu.max",
          "sys/fs/cgroup/memory.max", "sys/fs/cgroup/cpuset.cpus.effective", "proc/self/status"}},
        {aero_probe_cgroup,
         {"proc/self/cgroup", "sys/fs/cgroup/cpu/cpu.cfs_quota_us",
          "sys/fs/cgroup/cpu/cpu.cfs_period_us", "sys/fs/cgroup/memory/memory.limit_in_bytes",
          "sys/fs/cgroup/cpuset/cpuset.effective_cpus", "proc/self/status"}},
        {aero_probe_cgroup,
         {"proc/self/cgroup", "sys/fs/cgroup/cgroup.controllers", "sys/fs/cgroup/fuzz/cpu.max",
          "sys/fs/cgroup/fuzz/memory.max", "sys/fs/cgroup/fuzz/cpuset.cpus.effective"}},
        {aero_probe_memory, {"proc/meminfo"}},
        {aero_probe_libc, {"lib/x86_64-linux-gnu/libc.so.6"}},
        {aero_probe_gpu,
         {"proc/driver/nvidia/version", "proc/driver/nvidia/gpus/0000:00:06.0/information",
          "proc/driver/nvidia/gpus/0000:00:07.0/information", "usr/local/cuda/version.json"}},
        {aero_probe_gpu, {"usr/local/cuda/version.json"}},
        {aero_probe_conda,
         {"opt/conda/conda-meta/a.json", "opt/conda/conda-meta/b.json",
          "opt/conda/envs/x/conda-meta/c.json"}},
        {aero_probe_python,
         {"usr/lib/python3/dist-packages/a-1.dist-info/METADATA",
          "usr/lib/python3/dist-packages/a-1.dist-info/INSTALLER",
          "usr/lib/python3/dist-packages/b.egg-info", "opt/app/.venv/pyvenv.cfg",
          "opt/app/.venv/lib/python3.12/site-packages/c-2.dist-info/METADATA"}},
        {aero_probe_dpkg, {"var/lib/dpkg/status"}},
        {aero_probe_dpkg, {"var/lib/dpkg/status.d/a", "var/lib/dpkg/status.d/b"}},
        {aero_probe_apk, {"lib/apk/db/installed"}},
        {aero_probe_os, {"etc/os-release"}},
        {aero_probe_cpu, {"proc/cpuinfo"}},
        {aero_probe_k8s, {"var/run/secrets/kubernetes.io/serviceaccount/namespace"}},
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	aero_log_init("fuzz", -1);
	/* The k8s probe reads the namespace file only inside a pod. */
	setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const size_t which = data[0] % (sizeof(probes) / sizeof(probes[0]));
	const char *parts[MAX_FILES];
	size_t lens[MAX_FILES];
	const size_t n =
	        fuzz_split((const char *)data + 1, size - 1, "\n%%\n", parts, lens, MAX_FILES);
	char *root = NULL;
	if (asprintf(&root, "%s/root", fuzz_tmp_dir()) < 0)
		abort();
	for (size_t i = 0; i < n && probes[which].files[i] != NULL; i++)
		fuzz_write_file(root, probes[which].files[i], parts[i], lens[i]);
	const struct aero_capture_ctx ctx = {.root = root, .live = false, .salt = "fuzz"};
	cJSON *part = cJSON_CreateObject();
	if (part == NULL)
		abort();
	(void)probes[which].fill(&ctx, part);
	char *printed = aero_json_canonical(part);
	if (printed == NULL)
		abort();
	free(printed);
	cJSON_Delete(part);
	fuzz_remove_tree(fuzz_tmp_dir(), "root");
	free(root);
	return 0;
}
