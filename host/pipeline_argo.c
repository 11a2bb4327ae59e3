/* The Workflow: metadata and spec, the DAG, and a container template per task. */
#include "pipeline_argo.h"

#include "canonjson.h"
#include "error.h"
#include "k8s_container.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Argo's parameter names are [A-Za-z0-9_-]; an artifact's may hold '.' too. */
static void param_name(const char *artifact, char out[AERO_ARTIFACT_NAME_MAX + 1])
{
	size_t i = 0;
	for (; i < AERO_ARTIFACT_NAME_MAX && artifact[i] != '\0'; i++) {
		out[i] = artifact[i];
		if (out[i] == '.')
			out[i] = '_';
	}
	out[i] = '\0';
}

/* Two artifacts of one task whose parameter names would be one ("a.b" and "a_b"). */
static int check_params(const struct aero_task *t)
{
	char a[AERO_ARTIFACT_NAME_MAX + 1], b[AERO_ARTIFACT_NAME_MAX + 1];
	for (size_t i = 0; i < t->output_count; i++)
		for (size_t j = 0; j < i; j++) {
			param_name(t->outputs[i], a);
			param_name(t->outputs[j], b);
			if (strcmp(a, b) == 0)
				return aero_error_set(
				        "task '%s': its outputs '%s' and '%s' would both be Argo's "
				        "parameter '%s' (parameter names have no '.'); rename one",
				        t->name, t->outputs[j], t->outputs[i], a);
		}
	for (size_t i = 0; i < t->input_count; i++)
		for (size_t j = 0; j < i; j++) {
			param_name(t->inputs[i].ref.name, a);
			param_name(t->inputs[j].ref.name, b);
			if (t->inputs[i].producer >= 0 && t->inputs[j].producer >= 0 &&
			    strcmp(a, b) == 0)
				return aero_error_set(
				        "task '%s': its inputs '%s' and '%s' would both be Argo's "
				        "parameter '%s' (parameter names have no '.'); rename one",
				        t->name, t->inputs[j].ref.name, t->inputs[i].ref.name, a);
		}
	return 0;
}

/* The DAG template's name: the pipeline's, unless a task has it. */
static int entry_name(const struct aero_pipeline *p, char out[72])
{
	(void)snprintf(out, 72, "%s", p->name);
	for (unsigned n = 1; aero_pipeline_find(p, out) >= 0; n++) {
		if (n > AERO_PIPELINE_TASKS_MAX + 1)
			return aero_error_set("no name is left for the workflow's DAG");
		(void)snprintf(out, 72, n == 1 ? "pipeline" : "pipeline-%u", n);
	}
	return 0;
}

/* Kubernetes quantities for a task's resources. */
struct quantities {
	char cpu[32], memory[32];
	long gpus;
};

static int task_quantities(const struct aero_task *t, struct quantities *q)
{
	memset(q, 0, sizeof(*q));
	if (t->nano_cpus > 0) {
		const long long milli = (t->nano_cpus + 999999) / 1000000;
		(void)snprintf(q->cpu, sizeof(q->cpu), milli % 1000 == 0 ? "%lld" : "%lldm",
		               milli % 1000 == 0 ? milli / 1000 : milli);
	}
	if (t->memory_bytes > 0) {
		static const char *const units[] = {"Ti", "Gi", "Mi", "Ki"};
		const char *unit = "";
		long long amount = t->memory_bytes;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && unit[0] == '\0'; i++) {
			const long long size = 1LL << (10 * (4 - i));
			if (t->memory_bytes % size == 0) {
				unit = units[i];
				amount = t->memory_bytes / size;
			}
		}
		(void)snprintf(q->memory, sizeof(q->memory), "%lld%s", amount, unit);
	}
	if (t->gpus != NULL && strcmp(t->gpus, "all") == 0)
		return aero_error_set("task '%s': gpus \"all\" has no meaning in Kubernetes, which "
		                      "gives a pod the GPUs it asks for; give a count",
		                      t->name);
	q->gpus = t->gpus != NULL ? strtol(t->gpus, NULL, 10) : 0;
	return 0;
}

static int add_string(cJSON *parent, const char *key, const char *value)
{
	return cJSON_AddStringToObject(parent, key, value) != NULL ? 0 : -1;
}

/* Appends {"name": name, key: value} to array. */
static int append_param(cJSON *array, const char *name, const char *key, const char *value)
{
	cJSON *param = aero_k8s_append_named(array, name);
	return param != NULL && (key == NULL || add_string(param, key, value) == 0) ? 0 : -1;
}

/* AERO_ARTIFACT_OVERRIDES: each input another task makes as its output
 * parameter says, each version the file names as it is. NULL when no input is
 * pinned; *failed when memory ran out. */
static char *overrides_of(const struct aero_task *t, bool *failed)
{
	size_t room = 1;
	for (size_t i = 0; i < t->input_count; i++)
		room += 2 * strlen(t->inputs[i].ref.name) + 100;
	char *text = calloc(1, room);
	if (text == NULL) {
		*failed = true;
		return NULL;
	}
	size_t used = 0;
	for (size_t i = 0; i < t->input_count; i++) {
		const struct aero_artifact_ref *ref = &t->inputs[i].ref;
		const char *sep = used > 0 ? "," : "";
		char param[AERO_ARTIFACT_NAME_MAX + 1];
		param_name(ref->name, param);
		if (t->inputs[i].producer >= 0)
			used += (size_t)snprintf(text + used, room - used,
			                         "%s%s={{inputs.parameters.%s}}", sep, ref->name,
			                         param);
		else if (ref->kind == AERO_REF_VERSION)
			used += (size_t)snprintf(text + used, room - used, "%s%s=v%" PRIu64, sep,
			                         ref->name, ref->version);
		else if (ref->kind == AERO_REF_DIGEST)
			used += (size_t)snprintf(text + used, room - used, "%s%s=sha256:%s", sep,
			                         ref->name, ref->digest);
	}
	if (used == 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The variables aero-launch adds for a task of a pipeline. AERO_PIPELINE is
 * as `pipeline run` gives it (doc/pipelines.md), less what only a run here
 * knows (the key, the inputs' versions); the workflow's name is the pipeline
 * run's id. */
static int add_task_env(cJSON *container, const struct aero_pipeline *p, const struct aero_task *t)
{
	char *config = aero_json_canonical(t->config);
	char *task = aero_pipeline_task_env(p, t, "{{workflow.name}}", NULL, NULL);
	bool failed = false;
	char *overrides = overrides_of(t, &failed);
	int rc = config != NULL && task != NULL && !failed ? 0 : -1;
	/* The tracker sees the workflow as one group of runs, a job type per task. */
	if (rc == 0 && (aero_k8s_env_add(container, "AERO_CONFIG", config) < 0 ||
	                aero_k8s_env_add(container, "AERO_PIPELINE", task) < 0 ||
	                aero_k8s_env_add(container, "WANDB_RUN_GROUP", "{{workflow.name}}") < 0 ||
	                aero_k8s_env_add(container, "WANDB_JOB_TYPE", t->name) < 0 ||
	                (overrides != NULL &&
	                 aero_k8s_env_add(container, "AERO_ARTIFACT_OVERRIDES", overrides) < 0)))
		rc = -1;
	free(config);
	free(task);
	free(overrides);
	return rc < 0 ? aero_error_set("out of memory") : 0;
}

/* inputs.parameters (what producers hand on) and outputs.parameters (what
 * aero-init noted under the run directory). */
static int add_params(cJSON *template, const struct aero_task *t, const char *run_dir)
{
	char param[AERO_ARTIFACT_NAME_MAX + 1];
	cJSON *in = NULL;
	for (size_t i = 0; i < t->input_count; i++) {
		if (t->inputs[i].producer < 0)
			continue;
		if (in == NULL) {
			cJSON *inputs = cJSON_AddObjectToObject(template, "inputs");
			in = inputs != NULL ? cJSON_AddArrayToObject(inputs, "parameters") : NULL;
		}
		param_name(t->inputs[i].ref.name, param);
		if (in == NULL || append_param(in, param, NULL, NULL) < 0)
			return -1;
	}
	if (t->output_count == 0)
		return 0;
	cJSON *outputs = cJSON_AddObjectToObject(template, "outputs");
	cJSON *out = outputs != NULL ? cJSON_AddArrayToObject(outputs, "parameters") : NULL;
	for (size_t i = 0; out != NULL && i < t->output_count; i++) {
		char *path = NULL;
		param_name(t->outputs[i], param);
		cJSON *item = aero_k8s_append_named(out, param);
		cJSON *from = item != NULL ? cJSON_AddObjectToObject(item, "valueFrom") : NULL;
		if (from == NULL || asprintf(&path, "%s/outputs/%s", run_dir, t->outputs[i]) < 0)
			return -1;
		const int rc = add_string(from, "path", path);
		free(path);
		if (rc < 0)
			return -1;
	}
	return out != NULL ? 0 : -1;
}

/* The container template of task t. */
static cJSON *task_template(const struct aero_pipeline *p, const struct aero_task *t,
                            const struct aero_k8s_job *shared, const char *image)
{
	struct quantities q;
	if (task_quantities(t, &q) < 0)
		return NULL;
	struct aero_k8s_job job = *shared;
	job.image = image;
	job.command = t->argv;
	job.cpu = q.cpu[0] != '\0' ? q.cpu : NULL;
	job.memory = q.memory[0] != '\0' ? q.memory : NULL;
	job.gpus = q.gpus;
	job.seed = t->seed;
	job.run_id = NULL; /* each pod is a run of its own: aero-init draws its id */
	char *run_dir = NULL;
	if (asprintf(&run_dir, AERO_K8S_RUNS_MOUNT "/%s", t->name) < 0) {
		aero_error_set("out of memory");
		return NULL;
	}
	cJSON *template = cJSON_CreateObject();
	cJSON *container = aero_k8s_container_new(&job, "main", run_dir);
	const bool built = template != NULL && container != NULL &&
	                   add_string(template, "name", t->name) == 0 &&
	                   add_params(template, t, run_dir) == 0;
	int rc = built ? 0 : aero_error_set("out of memory");
	if (rc == 0)
		rc = add_task_env(container, p, t) == 0 ? aero_k8s_env_unique(container) : -1;
	if (rc == 0 && cJSON_AddItemToObject(template, "container", container))
		container = NULL; /* the template's now */
	else if (rc == 0)
		rc = aero_error_set("out of memory");
	free(run_dir);
	cJSON_Delete(container);
	if (rc < 0) {
		cJSON_Delete(template);
		return NULL;
	}
	return template;
}

/* One task of the DAG: its template, the tasks it follows, the parameters
 * that carry its inputs' versions from their producers. */
static int add_dag_task(cJSON *tasks, const struct aero_pipeline *p, const struct aero_task *t)
{
	cJSON *task = aero_k8s_append_named(tasks, t->name);
	if (task == NULL || add_string(task, "template", t->name) < 0)
		return -1;
	if (t->need_count > 0) {
		cJSON *deps = cJSON_AddArrayToObject(task, "dependencies");
		for (size_t i = 0; i < t->need_count; i++) {
			cJSON *name = cJSON_CreateString(p->tasks[t->needs[i]].name);
			if (deps == NULL || name == NULL || !cJSON_AddItemToArray(deps, name)) {
				cJSON_Delete(name);
				return -1;
			}
		}
	}
	cJSON *params = NULL;
	for (size_t i = 0; i < t->input_count; i++) {
		const struct aero_task_input *in = &t->inputs[i];
		if (in->producer < 0)
			continue;
		if (params == NULL) {
			cJSON *arguments = cJSON_AddObjectToObject(task, "arguments");
			params = arguments != NULL ? cJSON_AddArrayToObject(arguments, "parameters")
			                           : NULL;
		}
		char param[AERO_ARTIFACT_NAME_MAX + 1], *value = NULL;
		param_name(in->ref.name, param);
		if (params == NULL || asprintf(&value, "{{tasks.%s.outputs.parameters.%s}}",
		                               p->tasks[in->producer].name, param) < 0)
			return -1;
		const int rc = append_param(params, param, "value", value);
		free(value);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static cJSON *dag_template(const struct aero_pipeline *p, const char *entry)
{
	cJSON *template = cJSON_CreateObject();
	cJSON *dag = template != NULL && add_string(template, "name", entry) == 0
	                     ? cJSON_AddObjectToObject(template, "dag")
	                     : NULL;
	cJSON *tasks = dag != NULL ? cJSON_AddArrayToObject(dag, "tasks") : NULL;
	for (size_t k = 0; tasks != NULL && k < p->count; k++)
		if (add_dag_task(tasks, p, &p->tasks[p->order[k]]) < 0)
			tasks = NULL;
	if (tasks == NULL) {
		cJSON_Delete(template);
		aero_error_set("out of memory");
		return NULL;
	}
	return template;
}

static int add_metadata(cJSON *doc, const struct aero_pipeline *p, const char *namespace)
{
	char *prefix = NULL;
	cJSON *meta = cJSON_AddObjectToObject(doc, "metadata");
	if (meta == NULL || asprintf(&prefix, "%s-", p->name) < 0)
		return -1;
	const int rc = add_string(meta, "generateName", prefix);
	free(prefix);
	if (rc < 0 || (namespace != NULL && add_string(meta, "namespace", namespace) < 0))
		return -1;
	return aero_k8s_labels_add(meta, "aeromancy/pipeline", p->name);
}

/* Everything but the templates: entry point, service account, the pods'
 * grace period and labels, the run directory's volume. */
static cJSON *add_spec(cJSON *doc, const struct aero_k8s_job *shared, const char *entry)
{
	char patch[64];
	/* Argo has no field for it; a patch of every pod's spec sets it. */
	(void)snprintf(patch, sizeof(patch), "{\"terminationGracePeriodSeconds\":%ld}",
	               aero_k8s_grace_seconds(shared));
	cJSON *spec = cJSON_AddObjectToObject(doc, "spec");
	if (spec == NULL || add_string(spec, "entrypoint", entry) < 0 ||
	    (shared->service_account != NULL &&
	     add_string(spec, "serviceAccountName", shared->service_account) < 0) ||
	    add_string(spec, "podSpecPatch", patch) < 0)
		return NULL;
	cJSON *pod_meta = cJSON_AddObjectToObject(spec, "podMetadata");
	cJSON *volumes = pod_meta != NULL && aero_k8s_labels_add(pod_meta, NULL, NULL) == 0
	                         ? cJSON_AddArrayToObject(spec, "volumes")
	                         : NULL;
	if (volumes == NULL || aero_k8s_runs_volume_add(volumes, shared) < 0)
		return NULL;
	return spec;
}

int aero_pipeline_argo_build(const struct aero_pipeline *p, const struct aero_k8s_job *shared,
                             char *const *images, cJSON **out)
{
	*out = NULL;
	char entry[72];
	if (aero_k8s_check(shared) < 0 || entry_name(p, entry) < 0)
		return -1;
	for (size_t i = 0; i < p->count; i++)
		if (check_params(&p->tasks[i]) < 0)
			return -1;
	cJSON *doc = cJSON_CreateObject();
	cJSON *spec = NULL, *templates = NULL, *dag = NULL;
	if (doc == NULL || add_string(doc, "apiVersion", "argoproj.io/v1alpha1") < 0 ||
	    add_string(doc, "kind", "Workflow") < 0 ||
	    add_metadata(doc, p, shared->namespace) < 0 ||
	    (spec = add_spec(doc, shared, entry)) == NULL ||
	    (templates = cJSON_AddArrayToObject(spec, "templates")) == NULL) {
		cJSON_Delete(doc);
		return aero_error_set("out of memory");
	}
	if ((dag = dag_template(p, entry)) == NULL || !cJSON_AddItemToArray(templates, dag)) {
		if (dag != NULL)
			aero_error_set("out of memory");
		cJSON_Delete(dag);
		cJSON_Delete(doc);
		return -1;
	}
	for (size_t k = 0; k < p->count; k++) {
		const size_t i = p->order[k];
		cJSON *template = task_template(p, &p->tasks[i], shared, images[i]);
		if (template == NULL || !cJSON_AddItemToArray(templates, template)) {
			if (template != NULL)
				aero_error_set("out of memory");
			cJSON_Delete(template);
			cJSON_Delete(doc);
			return -1;
		}
	}
	*out = doc;
	return 0;
}
