#include "k8s.h"

#include "error.h"
#include "k8s_container.h"
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

static int add_string(cJSON *parent, const char *key, const char *value)
{
	return cJSON_AddStringToObject(parent, key, value) != NULL ? 0 : -1;
}

static int add_metadata(cJSON *parent, const struct aero_k8s_job *job, bool top)
{
	cJSON *meta = cJSON_AddObjectToObject(parent, "metadata");
	if (meta == NULL || (top && add_string(meta, "name", job->name) < 0) ||
	    (top && job->namespace != NULL && add_string(meta, "namespace", job->namespace) < 0))
		return -1;
	return aero_k8s_labels_add(meta, "aeromancy/run-id", job->run_id);
}

static cJSON *build(const struct aero_k8s_job *job, const char *run_dir)
{
	cJSON *doc = cJSON_CreateObject();
	if (doc == NULL || add_string(doc, "apiVersion", "batch/v1") < 0 ||
	    add_string(doc, "kind", "Job") < 0 || add_metadata(doc, job, true) < 0)
		goto fail;
	cJSON *spec = cJSON_AddObjectToObject(doc, "spec");
	/* A retry would be a different run: it fails, and a person looks at why. */
	cJSON *template = spec != NULL && cJSON_AddNumberToObject(spec, "backoffLimit", 0) != NULL
	                          ? cJSON_AddObjectToObject(spec, "template")
	                          : NULL;
	if (template == NULL || add_metadata(template, job, false) < 0)
		goto fail;
	cJSON *pod = cJSON_AddObjectToObject(template, "spec");
	if (pod == NULL || add_string(pod, "restartPolicy", "Never") < 0 ||
	    cJSON_AddNumberToObject(pod, "terminationGracePeriodSeconds",
	                            (double)aero_k8s_grace_seconds(job)) == NULL ||
	    (job->service_account != NULL &&
	     add_string(pod, "serviceAccountName", job->service_account) < 0))
		goto fail;
	cJSON *containers = cJSON_AddArrayToObject(pod, "containers");
	cJSON *container = aero_k8s_container_new(job, "experiment", run_dir);
	if (containers == NULL || container == NULL) {
		cJSON_Delete(container);
		goto fail;
	}
	cJSON_AddItemToArray(containers, container);
	cJSON *volumes = cJSON_AddArrayToObject(pod, "volumes");
	if (volumes == NULL || aero_k8s_runs_volume_add(volumes, job) < 0)
		goto fail;
	return doc;
fail:
	cJSON_Delete(doc);
	aero_error_set("out of memory");
	return NULL;
}

int aero_k8s_check(const struct aero_k8s_job *job)
{
	if ((job->namespace != NULL && aero_k8s_check_label("--namespace", job->namespace) < 0) ||
	    (job->cpu != NULL && aero_k8s_check_quantity("cpu", job->cpu) < 0) ||
	    (job->memory != NULL && aero_k8s_check_quantity("memory", job->memory) < 0) ||
	    (job->runs_pvc != NULL && check_subdomain("--runs-pvc", job->runs_pvc) < 0) ||
	    (job->service_account != NULL &&
	     check_subdomain("--service-account", job->service_account) < 0) ||
	    aero_k8s_security_check(job) < 0)
		return -1;
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

int aero_k8s_job_build(const struct aero_k8s_job *job, cJSON **out)
{
	*out = NULL;
	/* Everything Kubernetes would refuse, said before anything is written. */
	if (aero_k8s_check_label("--name", job->name) < 0 || aero_k8s_check(job) < 0)
		return -1;
	if (job->command == NULL || job->command[0] == NULL)
		return aero_error_set("no command given; usage: aero-launch k8s job [OPTIONS] -- "
		                      "COMMAND [ARGS...]");
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
	if (aero_k8s_env_unique(cJSON_GetArrayItem(
	            cJSON_GetObjectItemCaseSensitive(pod, "containers"), 0)) < 0) {
		cJSON_Delete(doc);
		return -1;
	}
	*out = doc;
	return 0;
}
