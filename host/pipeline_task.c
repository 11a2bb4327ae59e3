/* One task of `aero-launch pipeline run`: its inputs resolved to exact
 * versions, its key, and then skipped (an earlier run with the key whose
 * outputs the store still has), or started as `aero-launch run` with those
 * versions pinned; when it ends, its declared outputs checked and its key
 * recorded. */
#include "pipeline_state.h"

#include "argv.h"
#include "canonjson.h"
#include "error.h"
#include "journal.h"
#include "log.h"
#include "pipeline_key.h"
#include "runsdir.h"
#include "versions.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *input_item(const char *name, uint64_t version, const char *digest, const char *task,
                         const char *run)
{
	cJSON *in = cJSON_CreateObject();
	if (in == NULL || cJSON_AddStringToObject(in, "name", name) == NULL ||
	    cJSON_AddNumberToObject(in, "version", (double)version) == NULL ||
	    cJSON_AddStringToObject(in, "digest", digest) == NULL ||
	    (task != NULL && cJSON_AddStringToObject(in, "task", task) == NULL) ||
	    (run != NULL && cJSON_AddStringToObject(in, "run", run) == NULL)) {
		cJSON_Delete(in);
		return NULL;
	}
	return in;
}

static const cJSON *output_named(const cJSON *outputs, const char *name)
{
	const cJSON *out = NULL;
	cJSON_ArrayForEach(out, outputs)
	{
		const char *n = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "name"));
		if (n != NULL && strcmp(n, name) == 0)
			return out;
	}
	return NULL;
}

/* The exact versions task i's inputs are: its producers' outputs, or what the
 * store resolves its references to now. Positive status when one cannot be had. */
static int resolve_inputs(struct aero_pipeline_run *r, size_t i)
{
	const struct aero_task *t = &r->p.tasks[i];
	struct aero_task_slot *s = &r->s[i];
	s->inputs = cJSON_CreateArray();
	if (s->inputs == NULL)
		return aero_error_set("out of memory");
	for (size_t k = 0; k < t->input_count; k++) {
		const struct aero_task_input *in = &t->inputs[k];
		cJSON *item = NULL;
		if (in->producer >= 0) {
			const struct aero_task_slot *from = &r->s[in->producer];
			const cJSON *out = output_named(from->outputs, in->ref.name);
			const char *digest = cJSON_GetStringValue(
			        cJSON_GetObjectItemCaseSensitive(out, "digest"));
			const double version = cJSON_GetNumberValue(
			        cJSON_GetObjectItemCaseSensitive(out, "version"));
			if (digest == NULL)
				return aero_error_set("task %s made no '%s'",
				                      r->p.tasks[in->producer].name, in->ref.name);
			item = input_item(in->ref.name, (uint64_t)version, digest,
			                  r->p.tasks[in->producer].name, from->run_id);
		} else {
			struct aero_artifact_version v = {0};
			const int rc = aero_artifact_resolve(r->store, &in->ref, &v);
			if (rc != 0) {
				char text[AERO_ARTIFACT_REF_TEXT_MAX];
				aero_artifact_ref_format(&in->ref, text);
				return aero_error_set("input %s: %s", text, aero_error_last());
			}
			char digest[72];
			(void)snprintf(digest, sizeof(digest), "sha256:%s", v.manifest);
			item = input_item(v.name, v.version, digest, NULL, NULL);
			aero_artifact_version_free(&v);
		}
		if (item == NULL || !cJSON_AddItemToArray(s->inputs, item)) {
			cJSON_Delete(item);
			return aero_error_set("out of memory");
		}
	}
	return 0;
}

/* The record of an earlier run with s's key whose outputs the store still
 * has, or NULL. */
static cJSON *find_reusable(struct aero_pipeline_run *r, struct aero_task_slot *s)
{
	cJSON *record = aero_task_key_find(r->runs, s->key);
	const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(record, "outputs");
	const cJSON *out = NULL;
	bool ok = cJSON_IsArray(outputs) &&
	          cJSON_IsString(cJSON_GetObjectItemCaseSensitive(record, "run"));
	const cJSON *check = ok ? outputs : NULL;
	cJSON_ArrayForEach(out, check)
	{
		const char *name =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "name"));
		const char *digest =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(out, "digest"));
		const cJSON *version = cJSON_GetObjectItemCaseSensitive(out, "version");
		struct aero_artifact_version v = {0};
		ok = ok && name != NULL && digest != NULL && cJSON_IsNumber(version) &&
		     strlen(name) <= AERO_ARTIFACT_NAME_MAX &&
		     aero_artifact_version_fetch(r->store, name, (uint64_t)version->valuedouble,
		                                 &v) == 0 &&
		     strncmp(digest, "sha256:", 7) == 0 && strcmp(v.manifest, digest + 7) == 0;
		aero_artifact_version_free(&v);
	}
	if (!ok) {
		cJSON_Delete(record);
		return NULL;
	}
	return record;
}

__attribute__((format(printf, 2, 3))) static int set_why(struct aero_task_slot *s, const char *fmt,
                                                         ...)
{
	free(s->why);
	s->why = NULL;
	va_list ap;
	va_start(ap, fmt);
	const int n = vasprintf(&s->why, fmt, ap);
	va_end(ap);
	if (n < 0) {
		s->why = NULL;
		return aero_error_set("out of memory");
	}
	return 0;
}

static void say(const struct aero_pipeline_run *r, size_t i, const char *what)
{
	if (!r->o.quiet || r->s[i].state == FAILED || r->s[i].state == BLOCKED)
		fprintf(stderr, "%s%s\n", r->s[i].prefix, what);
}

/* Why task i runs, for a person: what changed since its last run. */
static void explain_run(struct aero_pipeline_run *r, size_t i)
{
	struct aero_task_slot *s = &r->s[i];
	cJSON *last = aero_task_last(r->runs, r->p.name, r->p.tasks[i].name);
	const cJSON *parts = cJSON_GetObjectItemCaseSensitive(last, "parts");
	char *changes = parts != NULL ? aero_task_key_changes(parts, s->parts) : NULL;
	if (s->forced)
		(void)set_why(s, "forced (%s)", r->o.force ? "--force" : "--from");
	else if (last == NULL)
		(void)set_why(s, "no earlier run of this task");
	else if (changes != NULL && changes[0] != '\0')
		(void)set_why(s, "changed since run %s: %s",
		              cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(last, "run")),
		              changes);
	else
		(void)set_why(s, "the outputs of run %s with this key are gone from the store",
		              cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(last, "run")));
	free(changes);
	cJSON_Delete(last);
}

/* `aero-launch run` for task i. */
static int task_args(const struct aero_pipeline_run *r, size_t i, struct aero_argv *a)
{
	const struct aero_task *t = &r->p.tasks[i];
	const struct aero_task_slot *s = &r->s[i];
	char *config = aero_json_canonical(t->config);
	char *pipeline =
	        aero_pipeline_task_env(&r->p, &r->p.tasks[i], r->id, r->s[i].key, r->s[i].inputs);
	aero_argv_add(a, "%s", r->self);
	aero_argv_add(a, "run");
	aero_argv_add(a, "-q");
	aero_argv_add(a, "-C");
	aero_argv_add(a, "%s", r->o.repo);
	aero_argv_add(a, "--image-id=%s", s->image_id);
	if (t->image != NULL)
		aero_argv_add(a, "--image=%s", t->image);
	aero_argv_add(a, "--run-id=%s", s->run_id);
	if (r->o.allow_unpushed)
		aero_argv_add(a, "--allow-unpushed");
	if (t->seed != NULL)
		aero_argv_add(a, "--seed=%s", t->seed);
	if (t->cpus != NULL)
		aero_argv_add(a, "--cpus=%s", t->cpus);
	if (t->memory != NULL)
		aero_argv_add(a, "--memory=%s", t->memory);
	if (t->gpus != NULL)
		aero_argv_add(a, "--gpus=%s", t->gpus);
	if (r->o.tracker != NULL)
		aero_argv_add(a, "--tracker=%s", r->o.tracker);
	if (r->o.network != NULL)
		aero_argv_add(a, "--network=%s", r->o.network);
	aero_argv_add(a, "--env=AERO_CONFIG=%s", config != NULL ? config : "{}");
	aero_argv_add(a, "--env=AERO_PIPELINE=%s", pipeline != NULL ? pipeline : "{}");
	aero_argv_add(a, "--env=WANDB_RUN_GROUP=%s-%s", r->p.name, r->id);
	aero_argv_add(a, "--env=WANDB_JOB_TYPE=%s", t->name);
	for (size_t k = 0; k < r->o.env_count; k++)
		aero_argv_add(a, "--env=%s", r->o.env[k]);
	const cJSON *in = NULL;
	cJSON_ArrayForEach(in, s->inputs)
	{
		aero_argv_add(a, "--artifact-override=%s=%s",
		              cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "name")),
		              cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(in, "digest")));
	}
	aero_argv_add(a, "--");
	for (size_t k = 0; k < t->argc; k++)
		aero_argv_add(a, "%s", t->argv[k]);
	const bool ok = config != NULL && pipeline != NULL && !a->failed;
	free(config);
	free(pipeline);
	return ok ? 0 : aero_error_set("out of memory");
}

static int start_task(struct aero_pipeline_run *r, size_t i)
{
	struct aero_task_slot *s = &r->s[i];
	struct aero_argv a = {0};
	int rc = task_args(r, i, &a);
	if (rc == 0)
		rc = aero_task_spawn(a.v, s->prefix, r->o.json, &s->proc);
	aero_argv_free(&a);
	if (rc < 0)
		return rc;
	s->state = RUNNING;
	s->started_ms = aero_clock_monotonic_ms();
	aero_clock_utc_now(s->started);
	r->running++;
	if (!r->o.quiet)
		fprintf(stderr, "%sruns as %s: %s\n", s->prefix, s->run_id, s->why);
	return 0;
}

static cJSON *task_record(const struct aero_pipeline_run *r, size_t i)
{
	const struct aero_task_slot *s = &r->s[i];
	char now[AERO_UTC_SIZE];
	aero_clock_utc_now(now);
	cJSON *record = cJSON_CreateObject();
	cJSON *parts = cJSON_Duplicate(s->parts, true);
	cJSON *outputs = cJSON_Duplicate(s->outputs, true);
	if (record == NULL || parts == NULL || outputs == NULL ||
	    cJSON_AddStringToObject(record, "key", s->key) == NULL ||
	    !cJSON_AddItemToObject(record, "parts", parts) || (parts = NULL, false) ||
	    !cJSON_AddItemToObject(record, "outputs", outputs) || (outputs = NULL, false) ||
	    cJSON_AddStringToObject(record, "pipeline", r->p.name) == NULL ||
	    cJSON_AddStringToObject(record, "task", r->p.tasks[i].name) == NULL ||
	    cJSON_AddStringToObject(record, "run", s->run_id) == NULL ||
	    cJSON_AddStringToObject(record, "finished", now) == NULL) {
		cJSON_Delete(parts);
		cJSON_Delete(outputs);
		cJSON_Delete(record);
		return NULL;
	}
	return record;
}

/* Task i's process ended with status. */
void aero_task_finish(struct aero_pipeline_run *r, size_t i, int status)
{
	struct aero_task_slot *s = &r->s[i];
	const struct aero_task *t = &r->p.tasks[i];
	r->running--;
	s->exit_status = status;
	s->seconds = (double)(aero_clock_monotonic_ms() - s->started_ms) / 1000.0;
	char seconds[32];
	(void)snprintf(seconds, sizeof(seconds), "%.1f", s->seconds);
	if (status != 0) {
		s->state = FAILED;
		(void)set_why(s, "exit status %d after %s s", status, seconds);
		say(r, i, s->why);
		return;
	}
	char *dir = aero_path_join(r->runs, s->run_id);
	s->outputs = cJSON_CreateArray();
	if (dir == NULL || s->outputs == NULL ||
	    aero_artifact_journal_read(dir, NULL, s->outputs) < 0) {
		s->state = FAILED;
		(void)set_why(s, "its outputs cannot be read: %s", aero_error_last());
	}
	free(dir);
	for (size_t k = 0; s->state != FAILED && k < t->output_count; k++)
		if (output_named(s->outputs, t->outputs[k]) == NULL) {
			s->state = FAILED;
			(void)set_why(s,
			              "it did not put its output '%s' (aero-init artifact put %s "
			              "PATH...)",
			              t->outputs[k], t->outputs[k]);
		}
	if (s->state == FAILED) {
		say(r, i, s->why);
		return;
	}
	s->state = RAN;
	(void)set_why(s, "done in %s s", seconds);
	say(r, i, s->why);
	cJSON *record = task_record(r, i);
	if (record == NULL || aero_task_key_save(r->runs, record) < 0)
		aero_log_warn("%sits key is not recorded, so it will run again: %s", s->prefix,
		              aero_error_last());
	cJSON_Delete(record);
}

/* Decides what task i (all it needs settled) becomes, or starts it. Returns
 * whether it is still waiting (for a free job). */
int aero_task_settle(struct aero_pipeline_run *r, size_t i, bool *waiting)
{
	struct aero_task_slot *s = &r->s[i];
	const struct aero_task *t = &r->p.tasks[i];
	*waiting = false;
	for (size_t k = 0; k < t->need_count; k++) {
		const struct aero_task_slot *need = &r->s[t->needs[k]];
		const char *name = r->p.tasks[t->needs[k]].name;
		switch (need->state) {
		case WAITING:
		case RUNNING:
			*waiting = true;
			return 0;
		case FAILED:
		case BLOCKED:
		case STALE:
			s->state = s->selected ? BLOCKED : STALE;
			return set_why(
			        s,
			        need->state == STALE
			                ? "needs %s, which is not up to date and not chosen: "
			                  "add it (--only %s) or run the whole pipeline"
			                : "needs %s, which %s",
			        name, need->state == STALE ? name : "did not succeed");
		case WOULD_RUN:
			s->state = s->selected ? WOULD_RUN : STALE;
			return set_why(s, "would run after %s, whose outputs will be new", name);
		default:
			break;
		}
	}
	if (resolve_inputs(r, i) < 0) {
		s->state = s->selected ? FAILED : STALE;
		return set_why(s, "%s", aero_error_last());
	}
	s->parts = aero_task_key_parts(t, s->image_content, s->inputs);
	if (s->parts == NULL || aero_task_key(s->parts, s->key) < 0)
		return -1;
	cJSON *earlier = s->forced ? NULL : find_reusable(r, s);
	if (earlier != NULL) {
		const char *run =
		        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(earlier, "run"));
		s->state = s->selected ? SKIPPED : REUSED;
		s->run_id = strdup(run);
		s->outputs = cJSON_DetachItemFromObjectCaseSensitive(earlier, "outputs");
		cJSON_Delete(earlier);
		if (s->run_id == NULL)
			return aero_error_set("out of memory");
		const int rc = set_why(s, "up to date: run %s had key %.19s", s->run_id, s->key);
		say(r, i, s->why);
		return rc;
	}
	if (!s->selected) {
		s->state = STALE;
		return set_why(s, "not up to date (key %.19s)", s->key);
	}
	explain_run(r, i);
	if (r->o.dry_run) {
		s->state = WOULD_RUN;
		say(r, i, s->why);
		return 0;
	}
	if (aero_pipeline_stop != 0) {
		s->state = BLOCKED;
		return set_why(s, "not started: the pipeline was interrupted");
	}
	if (r->running >= (size_t)r->o.jobs) {
		*waiting = true;
		return 0;
	}
	s->run_id = aero_run_id_new();
	if (s->run_id == NULL)
		return -1;
	return start_task(r, i);
}
