/* The table of probes, and the run of them that makes a manifest. Adding a
 * probe is one file and one line here. */
#include "capture.h"

#include "canonjson.h"
#include "error.h"
#include "files.h"
#include "hex.h"
#include "probes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const struct aero_probe probes[] = {
        {"run", aero_probe_run},
        {"run", aero_probe_run_dev},
        {"run", aero_probe_run_pipeline},
        {"git", aero_probe_git},
        {"image", aero_probe_image},
        {"system.os", aero_probe_os},
        {"system.kernel", aero_probe_kernel},
        {"system.libc", aero_probe_libc},
        {"system.cpu", aero_probe_cpu},
        {"system.memory", aero_probe_memory},
        {"system.cgroup", aero_probe_cgroup},
        {"system.rlimits", aero_probe_limits},
        {"system.container", aero_probe_container},
        {"k8s", aero_probe_k8s},
        {"packages.dpkg", aero_probe_dpkg},
        {"packages.apk", aero_probe_apk},
        {"packages.python", aero_probe_python},
        {"packages.conda", aero_probe_conda},
        {"packages.rpm", aero_probe_rpm},
        {"gpu", aero_probe_gpu},
        {"env", aero_probe_env},
};

const char *const aero_fingerprint_sections[] = {"system", "packages", "gpu", "env", NULL};

/* The object at "a" or "a.b" in the manifest, created as needed. */
static cJSON *part_at(cJSON *manifest, const char *path)
{
	const char *dot = strchr(path, '.');
	char *section = strndup(path, dot != NULL ? (size_t)(dot - path) : strlen(path));
	if (section == NULL)
		return NULL;
	cJSON *obj = cJSON_GetObjectItemCaseSensitive(manifest, section);
	if (obj == NULL)
		obj = cJSON_AddObjectToObject(manifest, section);
	free(section);
	if (obj == NULL || dot == NULL)
		return obj;
	return cJSON_AddObjectToObject(obj, dot + 1);
}

/* The fingerprint covers the environment sections, with values that differ
 * by design between identical environments (salted hashes) left out. */
static int add_fingerprint(cJSON *manifest)
{
	cJSON *env = cJSON_CreateObject();
	if (env == NULL)
		return aero_error_set("out of memory");
	for (const char *const *s = aero_fingerprint_sections; *s != NULL; s++) {
		const cJSON *section = cJSON_GetObjectItemCaseSensitive(manifest, *s);
		cJSON *copy = section != NULL ? cJSON_Duplicate(section, 1) : NULL;
		if (section != NULL && (copy == NULL || !cJSON_AddItemToObject(env, *s, copy))) {
			cJSON_Delete(copy);
			cJSON_Delete(env);
			return aero_error_set("out of memory");
		}
	}
	cJSON *vars = cJSON_GetObjectItemCaseSensitive(env, "env");
	for (cJSON *v = vars != NULL ? vars->child : NULL; v != NULL; v = v->next)
		cJSON_DeleteItemFromObjectCaseSensitive(v, "salted_sha256");
	char fingerprint[72];
	const int rc = aero_json_fingerprint(env, fingerprint);
	cJSON_Delete(env);
	return rc < 0 ? -1 : aero_json_add_string(manifest, "fingerprint", fingerprint);
}

cJSON *aero_capture(const struct aero_capture_ctx *ctx)
{
	cJSON *manifest = cJSON_CreateObject();
	if (manifest == NULL ||
	    cJSON_AddNumberToObject(manifest, "schema", AERO_MANIFEST_SCHEMA) == NULL)
		goto oom;
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		cJSON *part = part_at(manifest, probes[i].path);
		if (part == NULL)
			goto oom;
		aero_error_clear();
		if (probes[i].fill(ctx, part) < 0) {
			/* Keep what the probe found, and say why it stopped. */
			if (cJSON_AddStringToObject(part, "error", aero_error_last()) == NULL)
				goto oom;
		}
	}
	/* Facts that need two probes' results. */
	const cJSON *packages = cJSON_GetObjectItemCaseSensitive(manifest, "packages");
	if (aero_gpu_add_wheels(cJSON_GetObjectItemCaseSensitive(packages, "python"),
	                        cJSON_GetObjectItemCaseSensitive(manifest, "gpu")) < 0)
		goto oom;
	if (add_fingerprint(manifest) < 0)
		goto oom;
	return manifest;
oom:
	cJSON_Delete(manifest);
	return NULL;
}

int aero_capture_setup_add_env(struct aero_capture_setup *setup, const char *name)
{
	char **bigger = realloc(setup->env_keep, (setup->env_count + 2) * sizeof(char *));
	if (bigger == NULL)
		return aero_error_set("out of memory");
	setup->env_keep = bigger;
	bigger[setup->env_count] = strdup(name);
	if (bigger[setup->env_count] == NULL)
		return aero_error_set("out of memory");
	bigger[++setup->env_count] = NULL;
	return 0;
}

int aero_capture_setup_init(struct aero_capture_setup *setup)
{
	memset(setup, 0, sizeof(*setup));
	const char *list = getenv("AERO_CAPTURE_ENV");
	char *copy = list != NULL ? strdup(list) : NULL;
	if (list != NULL && copy == NULL)
		return aero_error_set("out of memory");
	char *save = NULL;
	int rc = 0;
	for (char *n = copy != NULL ? strtok_r(copy, ",", &save) : NULL; n != NULL && rc == 0;
	     n = strtok_r(NULL, ",", &save))
		rc = aero_capture_setup_add_env(setup, n);
	free(copy);
	if (rc < 0)
		return -1;

	const char *salt = getenv("AERO_REDACT_SALT");
	if (salt != NULL && *salt != '\0') {
		setup->salt = strdup(salt);
		return setup->salt != NULL ? 0 : aero_error_set("out of memory");
	}
	unsigned char bytes[16];
	setup->salt = malloc(2 * sizeof(bytes) + 1);
	if (setup->salt == NULL || getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
		return aero_error_set("cannot make a salt for redacted values");
	aero_hex_encode(bytes, sizeof(bytes), setup->salt);
	return 0;
}

void aero_capture_setup_free(struct aero_capture_setup *setup)
{
	for (size_t i = 0; i < setup->env_count; i++)
		free(setup->env_keep[i]);
	free(setup->env_keep);
	free(setup->salt);
	memset(setup, 0, sizeof(*setup));
}
