/* The experiment's container: what aero-init needs when the kubelet starts
 * it, with no launcher beside it. */
#include "k8s_container.h"

#include "error.h"
#include "k8s_security.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The helpers below return NULL or -1 only when memory runs out. */
static int add_string(cJSON *parent, const char *key, const char *value)
{
	return cJSON_AddStringToObject(parent, key, value) != NULL ? 0 : -1;
}

int aero_k8s_add_strings(cJSON *parent, const char *key, const char *const *items)
{
	cJSON *array = cJSON_AddArrayToObject(parent, key);
	if (array == NULL)
		return -1;
	for (const char *const *item = items; *item != NULL; item++) {
		cJSON *s = cJSON_CreateString(*item);
		if (s == NULL || !cJSON_AddItemToArray(array, s)) {
			cJSON_Delete(s);
			return -1;
		}
	}
	return 0;
}

cJSON *aero_k8s_append_named(cJSON *array, const char *name)
{
	cJSON *item = cJSON_CreateObject();
	if (item == NULL || !cJSON_AddItemToArray(array, item)) {
		cJSON_Delete(item);
		return NULL;
	}
	return add_string(item, "name", name) == 0 ? item : NULL;
}

int aero_k8s_labels_add(cJSON *meta, const char *note, const char *value)
{
	cJSON *labels = cJSON_AddObjectToObject(meta, "labels");
	if (labels == NULL || add_string(labels, "app.kubernetes.io/managed-by", "aeromancy") < 0)
		return -1;
	if (note == NULL)
		return 0;
	cJSON *notes = cJSON_AddObjectToObject(meta, "annotations");
	return notes != NULL ? add_string(notes, note, value) : -1;
}

static int env_value(cJSON *env, const char *name, const char *value)
{
	cJSON *item = aero_k8s_append_named(env, name);
	return item != NULL ? add_string(item, "value", value) : -1;
}

int aero_k8s_env_add(cJSON *container, const char *name, const char *value)
{
	cJSON *env = cJSON_GetObjectItemCaseSensitive(container, "env");
	return env != NULL ? env_value(env, name, value) : -1;
}

/* valueFrom.fieldRef: a fact of the pod, from the downward API. */
static int env_field(cJSON *env, const char *name, const char *field)
{
	cJSON *item = aero_k8s_append_named(env, name);
	cJSON *from = item != NULL ? cJSON_AddObjectToObject(item, "valueFrom") : NULL;
	cJSON *ref = from != NULL ? cJSON_AddObjectToObject(from, "fieldRef") : NULL;
	return ref != NULL ? add_string(ref, "fieldPath", field) : -1;
}

static int env_secret(cJSON *env, const struct aero_k8s_secret *secret)
{
	cJSON *item = aero_k8s_append_named(env, secret->env);
	cJSON *from = item != NULL ? cJSON_AddObjectToObject(item, "valueFrom") : NULL;
	cJSON *ref = from != NULL ? cJSON_AddObjectToObject(from, "secretKeyRef") : NULL;
	if (ref == NULL || add_string(ref, "name", secret->secret) < 0)
		return -1;
	return add_string(ref, "key", secret->key);
}

/* The names shim/capture/k8s.c reads the downward API's facts from. */
static const struct {
	const char *env;
	const char *field;
} downward[] = {
        {"AERO_POD_NAME", "metadata.name"}, {"AERO_POD_NAMESPACE", "metadata.namespace"},
        {"AERO_POD_UID", "metadata.uid"},   {"AERO_NODE_NAME", "spec.nodeName"},
        {"AERO_POD_IP", "status.podIP"},    {"AERO_SERVICE_ACCOUNT", "spec.serviceAccountName"},
};

/* AERO_RUN_DIR and the rest of aero-init's settings. */
static int add_env(cJSON *container, const struct aero_k8s_job *job, const char *run_dir)
{
	cJSON *env = cJSON_AddArrayToObject(container, "env");
	char grace[32];
	if (job->grace_ms % 1000 == 0)
		(void)snprintf(grace, sizeof(grace), "%lds", job->grace_ms / 1000);
	else
		(void)snprintf(grace, sizeof(grace), "%ldms", job->grace_ms);
	if (env == NULL ||
	    (job->run_id != NULL && env_value(env, "AERO_RUN_ID", job->run_id) < 0) ||
	    env_value(env, "AERO_RUN_DIR", run_dir) < 0 ||
	    env_value(env, "AERO_IMAGE", job->image) < 0 ||
	    env_value(env, "AERO_GRACE_PERIOD", grace) < 0 ||
	    (job->seed != NULL && env_value(env, "AERO_SEED", job->seed) < 0) ||
	    (job->tracker != NULL && env_value(env, "AERO_TRACKER", job->tracker) < 0) ||
	    (job->store != NULL && env_value(env, "AERO_STORE", job->store) < 0) ||
	    (job->user != NULL && !aero_k8s_user_by_kubelet(job) &&
	     env_value(env, "AERO_USER", job->user) < 0) ||
	    (job->caps != NULL && env_value(env, "AERO_CAPS", job->caps) < 0) ||
	    (job->hermetic && env_value(env, "AERO_HERMETIC", "1") < 0) ||
	    (job->allow_new_privs && env_value(env, "AERO_ALLOW_NEW_PRIVS", "1") < 0))
		return -1;
	for (size_t i = 0; i < sizeof(downward) / sizeof(downward[0]); i++)
		if (env_field(env, downward[i].env, downward[i].field) < 0)
			return -1;
	for (size_t i = 0; i < job->env_count; i++) {
		const char *eq = strchr(job->env[i], '=');
		char *name = strndup(job->env[i], (size_t)(eq - job->env[i]));
		const int rc = name != NULL ? env_value(env, name, eq + 1) : -1;
		free(name);
		if (rc < 0)
			return -1;
	}
	for (size_t i = 0; i < job->secret_count; i++)
		if (env_secret(env, &job->secrets[i]) < 0)
			return -1;
	return 0;
}

/* Requests reserve what the experiment needs; memory and GPUs are limited to it
 * too (a pod over its memory is killed, not slowed), CPU is not, since a CPU
 * limit throttles data loaders without making anything more reproducible. */
static int add_resources(cJSON *container, const struct aero_k8s_job *job)
{
	if (job->cpu == NULL && job->memory == NULL && job->gpus == 0)
		return 0;
	cJSON *resources = cJSON_AddObjectToObject(container, "resources");
	cJSON *requests = resources != NULL ? cJSON_AddObjectToObject(resources, "requests") : NULL;
	cJSON *limits = requests != NULL ? cJSON_AddObjectToObject(resources, "limits") : NULL;
	char gpus[32];
	(void)snprintf(gpus, sizeof(gpus), "%ld", job->gpus);
	if (limits == NULL || (job->cpu != NULL && add_string(requests, "cpu", job->cpu) < 0) ||
	    (job->memory != NULL && (add_string(requests, "memory", job->memory) < 0 ||
	                             add_string(limits, "memory", job->memory) < 0)) ||
	    (job->gpus > 0 && (add_string(requests, "nvidia.com/gpu", gpus) < 0 ||
	                       add_string(limits, "nvidia.com/gpu", gpus) < 0)))
		return -1;
	if (limits->child == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(resources, "limits");
	return 0;
}

static int add_mount(cJSON *container)
{
	cJSON *mounts = cJSON_AddArrayToObject(container, "volumeMounts");
	cJSON *mount = mounts != NULL ? aero_k8s_append_named(mounts, AERO_K8S_RUNS_VOLUME) : NULL;
	return mount != NULL ? add_string(mount, "mountPath", AERO_K8S_RUNS_MOUNT) : -1;
}

int aero_k8s_runs_volume_add(cJSON *volumes, const struct aero_k8s_job *job)
{
	cJSON *volume = aero_k8s_append_named(volumes, AERO_K8S_RUNS_VOLUME);
	if (volume == NULL)
		return -1;
	if (job->runs_pvc == NULL)
		return cJSON_AddObjectToObject(volume, "emptyDir") != NULL ? 0 : -1;
	cJSON *claim = cJSON_AddObjectToObject(volume, "persistentVolumeClaim");
	return claim != NULL ? add_string(claim, "claimName", job->runs_pvc) : -1;
}

long aero_k8s_grace_seconds(const struct aero_k8s_job *job)
{
	/* aero-init needs its grace period, then, with a tracker besides the run
	 * directory, up to its tracker timeout to hand over the rest. */
	const bool remote = job->tracker != NULL && strcmp(job->tracker, "local") != 0;
	return (job->grace_ms + 999) / 1000 + AERO_K8S_GRACE_MARGIN_S +
	       (remote ? AERO_K8S_TRACKER_TIMEOUT_S : 0);
}

cJSON *aero_k8s_container_new(const struct aero_k8s_job *job, const char *name, const char *run_dir)
{
	static const char *const entry[] = {"/usr/bin/aero-init", "--", NULL};
	cJSON *container = cJSON_CreateObject();
	if (container == NULL || add_string(container, "name", name) < 0 ||
	    add_string(container, "image", job->image) < 0 ||
	    aero_k8s_add_strings(container, "command", entry) < 0 ||
	    aero_k8s_add_strings(container, "args", (const char *const *)job->command) < 0 ||
	    add_env(container, job, run_dir) < 0 || add_resources(container, job) < 0 ||
	    add_mount(container) < 0 || aero_k8s_security_add(container, job) < 0) {
		cJSON_Delete(container);
		aero_error_set("out of memory");
		return NULL;
	}
	return container;
}

int aero_k8s_env_unique(const cJSON *container)
{
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(container, "env");
	for (const cJSON *a = env != NULL ? env->child : NULL; a != NULL; a = a->next) {
		const char *name = cJSON_GetObjectItemCaseSensitive(a, "name")->valuestring;
		for (const cJSON *b = a->next; b != NULL; b = b->next)
			if (strcmp(name,
			           cJSON_GetObjectItemCaseSensitive(b, "name")->valuestring) == 0)
				return aero_error_set("%s is set twice (by --env, --secret or "
				                      "aero-launch's own settings); set it once",
				                      name);
	}
	return 0;
}
