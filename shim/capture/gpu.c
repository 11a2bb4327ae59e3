/* gpu: the NVIDIA driver and devices as the kernel module reports them in
 * /proc/driver/nvidia, and the CUDA toolkit's version file. Read as files, so
 * a driver can neither crash nor hang PID 1. No GPU: the section says so. */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <ctype.h>
#include <dirent.h>
#include <glob.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROC_MAX ((size_t)64 * 1024)

/* The first word of the form N.N[.N...] in text, malloc'd; NULL when none. */
static char *first_version(const char *text)
{
	for (const char *p = text; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) || (p > text && !isspace((unsigned char)p[-1])))
			continue;
		const size_t n = strspn(p, "0123456789.");
		if (memchr(p, '.', n) != NULL && (p[n] == '\0' || isspace((unsigned char)p[n])))
			return strndup(p, n);
	}
	return NULL;
}

int aero_parse_nvidia_information(const char *text, cJSON *out)
{
	static const struct {
		const char *key, *name;
	} fields[] = {{"Model:", "model"},           {"GPU UUID:", "uuid"},
	              {"Bus Location:", "bus"},      {"Video BIOS:", "vbios"},
	              {"Bus Type:", "bus_type"},     {"Device Minor:", "minor"},
	              {"GPU Firmware:", "firmware"}, {"GPU Excluded:", "excluded"}};
	for (const char *line = text; *line != '\0';) {
		const size_t len = strcspn(line, "\n");
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			const size_t klen = strlen(fields[i].key);
			if (len < klen || strncmp(line, fields[i].key, klen) != 0)
				continue;
			char *value = aero_line_value(line + klen);
			const int rc = value != NULL
			                       ? aero_json_add_string(out, fields[i].name, value)
			                       : -1;
			free(value);
			if (rc < 0)
				return -1;
		}
		if (line[len] == '\0')
			break;
		line += len + 1;
	}
	return cJSON_GetObjectItemCaseSensitive(out, "model") != NULL
	               ? 0
	               : aero_error_set("no Model line in the NVIDIA device information");
}

static int add_devices(const struct aero_capture_ctx *ctx, cJSON *part)
{
	cJSON *devices = aero_json_add_array(part, "devices");
	char *pattern = aero_root_path(ctx, "/proc/driver/nvidia/gpus/*/information");
	if (devices == NULL || pattern == NULL) {
		free(pattern);
		return -1;
	}
	glob_t g;
	int rc = 0;
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) {
			char *text = aero_file_read(g.gl_pathv[i], PROC_MAX, NULL);
			cJSON *device = cJSON_CreateObject();
			if (text == NULL || device == NULL ||
			    !cJSON_AddItemToArray(devices, device)) {
				cJSON_Delete(device);
				rc = text == NULL ? -1 : aero_error_set("out of memory");
			} else {
				rc = aero_parse_nvidia_information(text, device);
			}
			free(text);
		}
		globfree(&g);
	}
	free(pattern);
	if (rc == 0)
		rc = aero_json_sort_array(devices, "bus", NULL);
	return rc == 0 ? aero_json_add_number(part, "count", cJSON_GetArraySize(devices)) : -1;
}

/* /usr/local/cuda/version.json: {"cuda": {"version": "12.4.1"}, ...}. */
static int add_cuda_toolkit(const struct aero_capture_ctx *ctx, cJSON *part)
{
	char *text = aero_root_read(ctx, "/usr/local/cuda/version.json", PROC_MAX, NULL);
	if (text == NULL)
		return 0;
	cJSON *doc = cJSON_Parse(text);
	free(text);
	const cJSON *cuda = cJSON_GetObjectItemCaseSensitive(doc, "cuda");
	const cJSON *version = cJSON_GetObjectItemCaseSensitive(cuda, "version");
	const int rc = cJSON_IsString(version)
	                       ? aero_json_add_string(part, "cuda_toolkit", version->valuestring)
	                       : 0;
	cJSON_Delete(doc);
	return rc;
}

/* Directories where CUDA's libraries live, relative to the tree. */
static const char *const library_dirs[] = {
        "/usr/local/cuda/lib64",
        "/usr/local/cuda/targets/x86_64-linux/lib",
        "/usr/local/nvidia/lib64",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/local/cuda/targets/sbsa-linux/lib",
        "/usr/lib/aarch64-linux-gnu",
};

/* Libraries whose file name carries their version: libNAME.so.VERSION. */
static const struct {
	const char *prefix, *name;
} versioned_libraries[] = {
        {"libcudart.so.", "cudart"}, {"libcudnn.so.", "cudnn"},  {"libnccl.so.", "nccl"},
        {"libcublas.so.", "cublas"}, {"libcuda.so.", "libcuda"}, {"libnvrtc.so.", "nvrtc"},
};

/* Keeps the most precise version seen for a library (the most dots wins). */
static int keep_version(cJSON *libs, const char *name, const char *version)
{
	const cJSON *old = cJSON_GetObjectItemCaseSensitive(libs, name);
	size_t dots = 0, old_dots = 0;
	for (const char *p = version; *p != '\0'; p++)
		dots += *p == '.';
	for (const char *p = cJSON_IsString(old) ? old->valuestring : ""; *p != '\0'; p++)
		old_dots += *p == '.';
	if (old != NULL && old_dots >= dots)
		return 0;
	cJSON_DeleteItemFromObjectCaseSensitive(libs, name);
	return aero_json_add_string(libs, name, version);
}

/* libcudart.so.13.0.96 and the like, by file name: no dlopen in a static PID 1. */
static int add_library_versions(const struct aero_capture_ctx *ctx, cJSON *part)
{
	cJSON *libs = cJSON_CreateObject();
	if (libs == NULL)
		return aero_error_set("out of memory");
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sizeof(library_dirs) / sizeof(library_dirs[0]); i++) {
		char *path = aero_root_path(ctx, library_dirs[i]);
		DIR *dir = path != NULL ? opendir(path) : NULL;
		free(path);
		if (dir == NULL)
			continue;
		const struct dirent *e;
		while (rc == 0 && (e = readdir(dir)) != NULL) {
			for (size_t j = 0;
			     j < sizeof(versioned_libraries) / sizeof(versioned_libraries[0]);
			     j++) {
				const size_t n = strlen(versioned_libraries[j].prefix);
				const char *version = e->d_name + n;
				if (strncmp(e->d_name, versioned_libraries[j].prefix, n) == 0 &&
				    *version != '\0' &&
				    strspn(version, "0123456789.") == strlen(version))
					rc = keep_version(libs, versioned_libraries[j].name,
					                  version);
			}
		}
		closedir(dir);
	}
	if (rc == 0 && cJSON_GetArraySize(libs) > 0 &&
	    cJSON_AddItemToObject(part, "libraries", libs))
		return 0;
	cJSON_Delete(libs);
	return rc;
}

int aero_gpu_add_wheels(const cJSON *python, cJSON *gpu)
{
	static const struct {
		const char *prefix, *name;
	} wheels[] = {{"nvidia-cuda-runtime", "cuda_runtime"},
	              {"nvidia-cudnn", "cudnn"},
	              {"nvidia-nccl", "nccl"},
	              {"nvidia-cublas", "cublas"}};
	cJSON *found = cJSON_CreateObject();
	if (found == NULL)
		return aero_error_set("out of memory");
	const cJSON *envs = cJSON_GetObjectItemCaseSensitive(python, "environments");
	const cJSON *env, *dist;
	int rc = 0;
	cJSON_ArrayForEach(env, envs)
	{
		cJSON_ArrayForEach(dist, cJSON_GetObjectItemCaseSensitive(env, "distributions"))
		{
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(dist, "name");
			const cJSON *version = cJSON_GetObjectItemCaseSensitive(dist, "version");
			for (size_t i = 0;
			     rc == 0 && cJSON_IsString(name) && cJSON_IsString(version) &&
			     i < sizeof(wheels) / sizeof(wheels[0]);
			     i++)
				if (strncasecmp(name->valuestring, wheels[i].prefix,
				                strlen(wheels[i].prefix)) == 0)
					rc = keep_version(found, wheels[i].name,
					                  version->valuestring);
		}
	}
	if (rc == 0 && cJSON_GetArraySize(found) > 0 && cJSON_AddItemToObject(gpu, "wheels", found))
		return 0;
	cJSON_Delete(found);
	return rc;
}

int aero_probe_gpu(const struct aero_capture_ctx *ctx, cJSON *part)
{
	char *version_text = aero_root_read(ctx, "/proc/driver/nvidia/version", PROC_MAX, NULL);
	if (version_text == NULL) {
		if (cJSON_AddFalseToObject(part, "present") == NULL)
			return aero_error_set("out of memory");
		int rc = add_cuda_toolkit(ctx, part);
		if (rc == 0)
			rc = add_library_versions(ctx, part);
		/* nvidia-smi without the kernel module says why: worth recording. */
		return rc < 0 ? rc : aero_gpu_add_smi(ctx, part);
	}
	char *driver = first_version(version_text);
	int rc = cJSON_AddTrueToObject(part, "present") != NULL ? 0
	                                                        : aero_error_set("out of memory");
	if (rc == 0 && driver != NULL)
		rc = aero_json_add_string(part, "driver_version", driver);
	if (rc == 0) {
		char *line = aero_line_value(version_text);
		rc = line != NULL ? aero_json_add_string(part, "driver", line) : -1;
		free(line);
	}
	free(driver);
	free(version_text);
	if (rc == 0)
		rc = add_devices(ctx, part);
	if (rc == 0)
		rc = add_cuda_toolkit(ctx, part);
	if (rc == 0)
		rc = add_library_versions(ctx, part);
	if (rc == 0)
		rc = aero_gpu_add_smi(ctx, part);
	return rc;
}
