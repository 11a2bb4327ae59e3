#include "determinism.h"

#include "error.h"
#include "files.h"

#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The variables --deterministic sets (capture.md lists where each is read). */
static const struct {
	const char *name, *value;
} settings[] = {
        {"CUBLAS_WORKSPACE_CONFIG", ":4096:8"}, /* cuBLAS, PyTorch deterministic mode */
        {"TF_DETERMINISTIC_OPS", "1"},          /* TensorFlow */
        {"TF_CUDNN_DETERMINISTIC", "1"},        /* TensorFlow with cuDNN */
        {"TF_ENABLE_ONEDNN_OPTS", "0"},         /* no oneDNN reordering */
        {"NVIDIA_TF32_OVERRIDE", "0"},          /* no TF32 in any NVIDIA library */
        {"FLASH_ATTENTION_DETERMINISTIC", "1"}, /* Hugging Face full determinism */
        {"MKL_CBWR", "COMPATIBLE"},             /* oneMKL reproducibility */
        {"NCCL_ALGO", "Ring"},                  /* a fixed reduction order */
        {"NCCL_PROTO", "Simple"},
        {"NCCL_NVLS_ENABLE", "0"},
        {"PL_SEED_WORKERS", "1"}, /* Lightning seeds data-loader workers */
};

/* Reduction order depends on the thread count: pin these. */
static const char *const thread_variables[] = {"OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                               "OPENBLAS_NUM_THREADS"};

#define XLA_DETERMINISTIC "--xla_gpu_deterministic_ops=true"

static int set_unless_user(cJSON *set, const char *name, const char *value)
{
	const char *user = getenv(name);
	if (user != NULL)
		return aero_json_add_setting(set, name, user, "user");
	if (setenv(name, value, 1) < 0)
		return aero_error_set("cannot set %s", name);
	return aero_json_add_setting(set, name, value, "aero-init");
}

/* XLA_FLAGS holds many flags: append ours rather than replace the user's. */
static int append_xla_flag(cJSON *set)
{
	const char *user = getenv("XLA_FLAGS");
	if (user != NULL && strstr(user, "--xla_gpu_deterministic_ops") != NULL)
		return aero_json_add_setting(set, "XLA_FLAGS", user, "user");
	const size_t len = (user != NULL ? strlen(user) + 1 : 0) + sizeof(XLA_DETERMINISTIC);
	char *value = malloc(len);
	if (value == NULL)
		return aero_error_set("out of memory");
	(void)snprintf(value, len, "%s%s%s", user != NULL ? user : "", user != NULL ? " " : "",
	               XLA_DETERMINISTIC);
	int rc = setenv("XLA_FLAGS", value, 1) < 0 ? aero_error_set("cannot set XLA_FLAGS") : 0;
	if (rc == 0)
		rc = aero_json_add_setting(set, "XLA_FLAGS", value,
		                           user != NULL ? "user, appended by aero-init"
		                                        : "aero-init");
	free(value);
	return rc;
}

/* CPUs we may use: the affinity mask, bounded by a cgroup CPU quota. */
static long usable_cpus(const cJSON *manifest)
{
	cpu_set_t set;
	long cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
	const cJSON *system = cJSON_GetObjectItemCaseSensitive(manifest, "system");
	const cJSON *cgroup = cJSON_GetObjectItemCaseSensitive(system, "cgroup");
	const cJSON *limit = cJSON_GetObjectItemCaseSensitive(cgroup, "cpu_limit");
	if (cJSON_IsNumber(limit) && limit->valuedouble > 0 && limit->valuedouble < (double)cpus) {
		const long whole = (long)limit->valuedouble; /* rounded up: 1.5 CPUs -> 2 */
		cpus = whole + (limit->valuedouble > (double)whole);
	}
	return cpus > 0 ? cpus : 1;
}

static bool has_string(const cJSON *list, const char *s)
{
	const cJSON *item;
	cJSON_ArrayForEach(item, list)
	{
		if (cJSON_IsString(item) && strcmp(item->valuestring, s) == 0)
			return true;
	}
	return false;
}

static int add_warnings(const struct aero_init_options *opts, const cJSON *manifest,
                        cJSON *warnings)
{
	const cJSON *system = cJSON_GetObjectItemCaseSensitive(manifest, "system");
	const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(system, "cpu");
	const cJSON *gpu = cJSON_GetObjectItemCaseSensitive(manifest, "gpu");
	const bool has_gpu = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(gpu, "present"));
	const char *tf32 = getenv("NVIDIA_TF32_OVERRIDE");
	int rc = 0;
	if (!opts->seed_given)
		rc = aero_json_append_string(
		        warnings, "no seed given: a random base seed was drawn and recorded; pass "
		                  "--seed or AERO_SEED to repeat it");
	if (rc == 0 && getenv("OMP_NUM_THREADS") == NULL && usable_cpus(manifest) > 1)
		rc = aero_json_append_string(
		        warnings, "thread counts are not pinned (OMP_NUM_THREADS is unset) on a "
		                  "machine with several CPUs: reductions may run in another order; "
		                  "use --deterministic or set OMP_NUM_THREADS");
	if (rc == 0 && has_gpu && (tf32 == NULL || strcmp(tf32, "0") != 0))
		rc = aero_json_append_string(
		        warnings, "TF32 is allowed on the GPU (NVIDIA_TF32_OVERRIDE is not 0): "
		                  "matrix products lose precision in ways that vary");
	if (rc == 0 && has_gpu && getenv("CUBLAS_WORKSPACE_CONFIG") == NULL)
		rc = aero_json_append_string(warnings,
		                             "CUBLAS_WORKSPACE_CONFIG is unset: cuBLAS may choose "
		                             "nondeterministic algorithms");
	if (rc == 0 && has_string(cJSON_GetObjectItemCaseSensitive(cpu, "fp_relevant"), "avx512f"))
		rc = aero_json_append_string(
		        warnings,
		        "AVX-512 is present: BLAS, numpy and torch pick kernels that round "
		        "differently on CPUs without it, so results may differ elsewhere");
	return rc;
}

int aero_determinism_apply(const struct aero_init_options *opts, const cJSON *manifest,
                           cJSON *section)
{
	if (cJSON_AddBoolToObject(section, "enabled", opts->deterministic) == NULL)
		return aero_error_set("out of memory");
	if (opts->deterministic) {
		cJSON *set = aero_json_add_object(section, "set");
		if (set == NULL)
			return -1;
		for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
			if (set_unless_user(set, settings[i].name, settings[i].value) < 0)
				return -1;
		char threads[24];
		(void)snprintf(threads, sizeof(threads), "%ld", usable_cpus(manifest));
		for (size_t i = 0; i < sizeof(thread_variables) / sizeof(thread_variables[0]); i++)
			if (set_unless_user(set, thread_variables[i], threads) < 0)
				return -1;
		if (append_xla_flag(set) < 0)
			return -1;
	}
	cJSON *warnings = aero_json_add_array(section, "warnings");
	return warnings != NULL ? add_warnings(opts, manifest, warnings) : -1;
}
