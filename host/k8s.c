#include "k8s.h"

#include "error.h"
#include "k8s_security.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOWER_ALNUM "abcdefghijklmnopqrstuvwxyz0123456789"
#define ALNUM LOWER_ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* Words that mark a variable as a secret, which must come from a Secret (the
 * strongest of those aero-init redacts, shim/capture/env.c). */
static const char *const secret_words[] = {"KEY",      "TOKEN",  "SECRET",
                                           "PASSWORD", "PASSWD", "CREDENTIAL"};

int aero_k8s_check_label(const char *what, const char *text)
{
	const size_t length = strlen(text);
	if (length == 0 || length > 63 || strspn(text, LOWER_ALNUM "-") != length ||
	    text[0] == '-' || text[length - 1] == '-')
		return aero_error_set(
		        "%s '%s' is not a DNS label (1 to 63 lowercase letters, digits "
		        "and '-', a letter or digit at each end)",
		        what, text);
	return 0;
}

/* A DNS-1123 subdomain: what Kubernetes names Secrets and claims with. */
static int check_subdomain(const char *what, const char *text)
{
	const size_t length = strlen(text);
	if (length == 0 || length > 253 || strspn(text, LOWER_ALNUM "-.") != length ||
	    strchr(LOWER_ALNUM, text[0]) == NULL || strchr(LOWER_ALNUM, text[length - 1]) == NULL)
		return aero_error_set(
		        "%s '%s' is not a DNS subdomain (lowercase letters, digits, '-' "
		        "and '.', a letter or digit at each end)",
		        what, text);
	return 0;
}

int aero_k8s_check_quantity(const char *what, const char *text)
{
	static const char *const memory_suffixes[] = {"",   "k",  "M",  "G",  "T",  "P", "E",
	                                              "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
	const bool cpu = strcmp(what, "cpu") == 0;
	size_t digits = strspn(text, "0123456789");
	size_t end = digits;
	if (text[end] == '.') {
		const size_t fraction = strspn(text + end + 1, "0123456789");
		end += 1 + fraction;
		if (fraction == 0)
			digits = 0;
	}
	bool ok = digits > 0 && strtod(text, NULL) > 0;
	if (ok && cpu) {
		ok = strcmp(text + end, "") == 0 || strcmp(text + end, "m") == 0;
	} else if (ok) {
		ok = false;
		for (size_t i = 0; i < sizeof(memory_suffixes) / sizeof(memory_suffixes[0]); i++)
			ok = ok || strcmp(text + end, memory_suffixes[i]) == 0;
	}
	if (!ok)
		return aero_error_set(cpu ? "--cpu '%s' is not a CPU quantity (cores, such as 2 or "
		                            "0.5, or millicores, such as 500m)"
		                          : "--memory '%s' is not a memory quantity (bytes with an "
		                            "optional suffix: 512Mi, 8Gi, 1G)",
		                      text);
	return 0;
}

/* Kubernetes' rule for variable names, and not a secret's. */
static int check_env_name(const char *name, const char *option)
{
	const size_t length = strlen(name);
	if (length == 0 || strspn(name, ALNUM "_.-") != length ||
	    (name[0] >= '0' && name[0] <= '9'))
		return aero_error_set("%s: '%s' is not a variable name (letters, digits, '_', '.' "
		                      "and '-', not a digit first)",
		                      option, name);
	for (size_t i = 0;
	     strcmp(option, "--env") == 0 && i < sizeof(secret_words) / sizeof(secret_words[0]);
	     i++)
		if (strcasestr(name, secret_words[i]) != NULL)
			return aero_error_set(
			        "--env %s: this looks like a secret, which must not be "
			        "written in a manifest; keep it in a Secret and pass "
			        "--secret %s=SECRET:KEY",
			        name, name);
	return 0;
}

/* The helpers below return NULL or -1 only when memory runs out. */
static cJSON *add_object(cJSON *parent, const char *key)
{
	return cJSON_AddObjectToObject(parent, key);
}

static int add_string(cJSON *parent, const char *key, const char *value)
{
	return cJSON_AddStringToObject(parent, key, value) != NULL ? 0 : -1;
}

static int add_number(cJSON *parent, const char *key, double value)
{
	return cJSON_AddNumberToObject(parent, key, value) != NULL ? 0 : -1;
}

static int add_string_array(cJSON *parent, const char *key, const char *const *items)
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

/* Appends {"name": name} to array and hands it back for the rest. */
static cJSON *append_named(cJSON *array, const char *name)
{
	cJSON *item = cJSON_CreateObject();
	if (item == NULL || !cJSON_AddItemToArray(array, item)) {
		cJSON_Delete(item);
		return NULL;
	}
	return add_string(item, "name", name) == 0 ? item : NULL;
}

static int env_value(cJSON *env, const char *name, const char *value)
{
	cJSON *item = append_named(env, name);
	return item != NULL ? add_string(item, "value", value) : -1;
}

/* valueFrom.fieldRef: a fact of the pod, from the downward API. */
static int env_field(cJSON *env, const char *name, const char *field)
{
	cJSON *item = append_named(env, name);
	cJSON *from = item != NULL ? add_object(item, "valueFrom") : NULL;
	cJSON *ref = from != NULL ? add_object(from, "fieldRef") : NULL;
	return ref != NULL ? add_string(ref, "fieldPath", field) : -1;
}

static int env_secret(cJSON *env, const struct aero_k8s_secret *secret)
{
	cJSON *item = append_named(env, secret->env);
	cJSON *from = item != NULL ? add_object(item, "valueFrom") : NULL;
	cJSON *ref = from != NULL ? add_object(from, "secretKeyRef") : NULL;
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

/* AERO_RUN_DIR and the rest of aero-init's settings: all it needs when the
 * kubelet starts it, with no launcher beside it. */
static int add_env(cJSON *container, const struct aero_k8s_job *job, const char *run_dir)
{
	cJSON *env = cJSON_AddArrayToObject(container, "env");
	char grace[32];
	if (job->grace_ms % 1000 == 0)
		(void)snprintf(grace, sizeof(grace), "%lds", job->grace_ms / 1000);
	else
		(void)snprintf(grace, sizeof(grace), "%ldms", job->grace_ms);
	if (env == NULL || env_value(env, "AERO_RUN_ID", job->run_id) < 0 ||
	    env_value(env, "AERO_RUN_DIR", run_dir) < 0 ||
	    env_value(env, "AERO_IMAGE", job->image) < 0 ||
	    env_value(env, "AERO_GRACE_PERIOD", grace) < 0 ||
	    (job->seed != NULL && env_value(env, "AERO_SEED", job->seed) < 0) ||
	    (job->tracker != NULL && env_value(env, "AERO_TRACKER", job->tracker) < 0) ||
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
	cJSON *resources = add_object(container, "resources");
	cJSON *requests = resources != NULL ? add_object(resources, "requests") : NULL;
	cJSON *limits = requests != NULL ? add_object(resources, "limits") : NULL;
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

static int add_volume(cJSON *pod, cJSON *container, const struct aero_k8s_job *job)
{
	cJSON *mounts = cJSON_AddArrayToObject(container, "volumeMounts");
	cJSON *mount = mounts != NULL ? append_named(mounts, "aero-runs") : NULL;
	cJSON *volumes = mount != NULL ? cJSON_AddArrayToObject(pod, "volumes") : NULL;
	cJSON *volume = volumes != NULL ? append_named(volumes, "aero-runs") : NULL;
	if (volume == NULL || add_string(mount, "mountPath", AERO_K8S_RUNS_MOUNT) < 0)
		return -1;
	if (job->runs_pvc == NULL)
		return add_object(volume, "emptyDir") != NULL ? 0 : -1;
	cJSON *claim = add_object(volume, "persistentVolumeClaim");
	return claim != NULL ? add_string(claim, "claimName", job->runs_pvc) : -1;
}

static int add_metadata(cJSON *parent, const struct aero_k8s_job *job, bool top)
{
	cJSON *meta = add_object(parent, "metadata");
	if (meta == NULL || (top && add_string(meta, "name", job->name) < 0) ||
	    (top && job->namespace != NULL && add_string(meta, "namespace", job->namespace) < 0))
		return -1;
	cJSON *labels = add_object(meta, "labels");
	cJSON *notes = labels != NULL ? add_object(meta, "annotations") : NULL;
	if (notes == NULL || add_string(labels, "app.kubernetes.io/managed-by", "aeromancy") < 0)
		return -1;
	return add_string(notes, "aeromancy/run-id", job->run_id);
}

static cJSON *build(const struct aero_k8s_job *job, const char *run_dir)
{
	cJSON *doc = cJSON_CreateObject();
	if (doc == NULL || add_string(doc, "apiVersion", "batch/v1") < 0 ||
	    add_string(doc, "kind", "Job") < 0 || add_metadata(doc, job, true) < 0)
		goto fail;
	cJSON *spec = add_object(doc, "spec");
	/* A retry would be a different run: it fails, and a person looks at why. */
	cJSON *template = spec != NULL && add_number(spec, "backoffLimit", 0) == 0
	                          ? add_object(spec, "template")
	                          : NULL;
	if (template == NULL || add_metadata(template, job, false) < 0)
		goto fail;
	cJSON *pod = add_object(template, "spec");
	/* aero-init needs its grace period, then, with a tracker besides the run
	 * directory, up to its tracker timeout to hand over the rest. */
	const bool remote = job->tracker != NULL && strcmp(job->tracker, "local") != 0;
	const long grace_s = (job->grace_ms + 999) / 1000 + AERO_K8S_GRACE_MARGIN_S +
	                     (remote ? AERO_K8S_TRACKER_TIMEOUT_S : 0);
	if (pod == NULL || add_string(pod, "restartPolicy", "Never") < 0 ||
	    add_number(pod, "terminationGracePeriodSeconds", (double)grace_s) < 0)
		goto fail;
	cJSON *containers = cJSON_AddArrayToObject(pod, "containers");
	cJSON *container = containers != NULL ? append_named(containers, "experiment") : NULL;
	static const char *const entry[] = {"/usr/bin/aero-init", "--", NULL};
	if (container == NULL || add_string(container, "image", job->image) < 0 ||
	    add_string_array(container, "command", entry) < 0 ||
	    add_string_array(container, "args", (const char *const *)job->command) < 0 ||
	    add_env(container, job, run_dir) < 0 || add_resources(container, job) < 0 ||
	    add_volume(pod, container, job) < 0 || aero_k8s_security_add(container, job) < 0)
		goto fail;
	return doc;
fail:
	cJSON_Delete(doc);
	aero_error_set("out of memory");
	return NULL;
}

/* Everything Kubernetes would refuse, said before anything is written. */
static int check(const struct aero_k8s_job *job)
{
	if (aero_k8s_check_label("--name", job->name) < 0 ||
	    (job->namespace != NULL && aero_k8s_check_label("--namespace", job->namespace) < 0) ||
	    (job->cpu != NULL && aero_k8s_check_quantity("cpu", job->cpu) < 0) ||
	    (job->memory != NULL && aero_k8s_check_quantity("memory", job->memory) < 0) ||
	    (job->runs_pvc != NULL && check_subdomain("--runs-pvc", job->runs_pvc) < 0) ||
	    aero_k8s_security_check(job) < 0)
		return -1;
	if (job->command == NULL || job->command[0] == NULL)
		return aero_error_set("no command given; usage: aero-launch k8s job [OPTIONS] -- "
		                      "COMMAND [ARGS...]");
	for (size_t i = 0; i < job->env_count; i++) {
		const char *eq = strchr(job->env[i], '=');
		if (eq == NULL)
			return aero_error_set("--env '%s' is not NAME=VALUE", job->env[i]);
		char *name = strndup(job->env[i], (size_t)(eq - job->env[i]));
		if (name == NULL)
			return aero_error_set("out of memory");
		const int rc = check_env_name(name, "--env");
		free(name);
		if (rc < 0)
			return -1;
	}
	for (size_t i = 0; i < job->secret_count; i++) {
		const struct aero_k8s_secret *s = &job->secrets[i];
		const size_t key_length = strlen(s->key);
		if (check_env_name(s->env, "--secret") < 0 ||
		    check_subdomain("secret", s->secret) < 0)
			return -1;
		if (key_length == 0 || key_length > 253 ||
		    strspn(s->key, ALNUM "-._") != key_length)
			return aero_error_set(
			        "--secret %s: '%s' is not a key of a Secret (letters, "
			        "digits, '-', '_' and '.')",
			        s->env, s->key);
	}
	return 0;
}

/* Each variable once: a second value would silently win in the pod. */
static int check_unique(const cJSON *container)
{
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(container, "env");
	for (const cJSON *a = env->child; a != NULL; a = a->next) {
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

int aero_k8s_job_build(const struct aero_k8s_job *job, cJSON **out)
{
	*out = NULL;
	if (check(job) < 0)
		return -1;
	char *run_dir = NULL;
	if (asprintf(&run_dir, AERO_K8S_RUNS_MOUNT "/%s", job->run_id) < 0)
		return aero_error_set("out of memory");
	cJSON *doc = build(job, run_dir);
	free(run_dir);
	if (doc == NULL)
		return -1;
	const cJSON *pod = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "spec"),
	                                         "template"),
	        "spec");
	if (check_unique(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(pod, "containers"),
	                                    0)) < 0) {
		cJSON_Delete(doc);
		return -1;
	}
	*out = doc;
	return 0;
}
