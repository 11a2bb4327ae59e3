/* Every capture probe, and the parsers of outside text they are built on
 * (exposed for unit tests and fuzzing). Each probe lives in its own file. */
#ifndef AERO_CAPTURE_PROBES_H
#define AERO_CAPTURE_PROBES_H

#include "capture.h"

/* run: id, start time, command (secrets redacted), cwd, user, hostname. */
int aero_probe_run(const struct aero_capture_ctx *ctx, cJSON *part);
/* system.os: /etc/os-release; system.kernel: uname (running system only). */
int aero_probe_os(const struct aero_capture_ctx *ctx, cJSON *part);
int aero_probe_kernel(const struct aero_capture_ctx *ctx, cJSON *part);
/* system.libc: the tree's C library (glibc banner, or musl). */
int aero_probe_libc(const struct aero_capture_ctx *ctx, cJSON *part);
/* system.cpu: /proc/cpuinfo, and CPUID on the running system. */
int aero_probe_cpu(const struct aero_capture_ctx *ctx, cJSON *part);
/* system.memory: /proc/meminfo. */
int aero_probe_memory(const struct aero_capture_ctx *ctx, cJSON *part);
/* system.cgroup: CPU and memory limits (v1 or v2) and the CPUs allowed. */
int aero_probe_cgroup(const struct aero_capture_ctx *ctx, cJSON *part);
/* system.rlimits: resource limits (running system only). */
int aero_probe_limits(const struct aero_capture_ctx *ctx, cJSON *part);
/* system.container: whether we run in a container, and why we think so. */
int aero_probe_container(const struct aero_capture_ctx *ctx, cJSON *part);
/* k8s: Kubernetes facts from the environment and the service account. */
int aero_probe_k8s(const struct aero_capture_ctx *ctx, cJSON *part);
/* packages.dpkg: /var/lib/dpkg/status, or status.d/ in distroless images. */
int aero_probe_dpkg(const struct aero_capture_ctx *ctx, cJSON *part);
/* packages.apk: /lib/apk/db/installed. */
int aero_probe_apk(const struct aero_capture_ctx *ctx, cJSON *part);
/* packages.conda: conda environments' conda-meta records. */
int aero_probe_conda(const struct aero_capture_ctx *ctx, cJSON *part);
/* packages.rpm: says whether an RPM database is there (not read yet). */
int aero_probe_rpm(const struct aero_capture_ctx *ctx, cJSON *part);
/* packages.python: the distributions of every Python environment found. */
int aero_probe_python(const struct aero_capture_ctx *ctx, cJSON *part);
/* gpu: the NVIDIA driver and devices from /proc/driver/nvidia, CUDA version files. */
int aero_probe_gpu(const struct aero_capture_ctx *ctx, cJSON *part);
/* Adds gpu.wheels: the CUDA stack's versions from the nvidia-* Python wheels
 * found by the python probe (modern images carry CUDA inside site-packages). */
int aero_gpu_add_wheels(const cJSON *python, cJSON *gpu);
/* Adds memory, compute capability and the driver's CUDA version from
 * nvidia-smi, run with a hard deadline (AERO_GPU_TIMEOUT, default 5 s); a
 * failure is recorded as gpu.smi_error. Running system only. */
int aero_gpu_add_smi(const struct aero_capture_ctx *ctx, cJSON *gpu);
/* Adds "gpus": utilisation and memory in use per device, from nvidia-smi
 * within timeout_ms (nothing when there is no nvidia-smi). */
int aero_gpu_sample(cJSON *row, long timeout_ms);
/* nvidia-smi's "BUS, NAME, MEMORY_MIB, COMPUTE_CAP" lines into gpu.devices. */
int aero_parse_smi_query(const char *text, cJSON *gpu);
/* env: allow-listed variables, secrets redacted with a salted hash. */
int aero_probe_env(const struct aero_capture_ctx *ctx, cJSON *part);
/* git, image, run.dev: what aero-launch passed in AERO_GIT_*, AERO_IMAGE_*, AERO_DEV. */
int aero_probe_git(const struct aero_capture_ctx *ctx, cJSON *part);
int aero_probe_image(const struct aero_capture_ctx *ctx, cJSON *part);
int aero_probe_run_dev(const struct aero_capture_ctx *ctx, cJSON *part);

/* run.pipeline: the pipeline task this run is (AERO_PIPELINE, a JSON object
 * aero-launch gives: pipeline id and name, task, key, inputs and their runs). */
int aero_probe_run_pipeline(const struct aero_capture_ctx *ctx, cJSON *part);

/* os-release KEY=value lines (quoted or not) into out's members. */
int aero_parse_os_release(const char *text, cJSON *out);
/* dpkg status stanzas into an array of {name, version, architecture, source[, status]}. */
int aero_parse_dpkg_status(const char *text, cJSON *packages);
/* apk's installed database into an array of {name, version, architecture, origin}. */
int aero_parse_apk_installed(const char *text, cJSON *packages);
/* /proc/cpuinfo: the first processor's identity and flags, and the counts. */
int aero_parse_cpuinfo(const char *text, cJSON *out);
/* /proc/driver/nvidia/gpus/PCI/information into {model, uuid, bus, ...}. */
int aero_parse_nvidia_information(const char *text, cJSON *out);
/* Name and Version of a Python METADATA / PKG-INFO header, malloc'd. */
int aero_parse_python_metadata(const char *text, char **name, char **version);
/* True when a variable's name looks like it holds a secret. */
int aero_env_is_secret(const char *name);

#endif
