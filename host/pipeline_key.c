/* Task keys and the records of the runs that made them. A key covers what a
 * task's result depends on and nothing else: the image by id, the command,
 * the config, the seed, the inputs by manifest digest, the outputs' names. */
#include "pipeline_key.h"

#include "canonjson.h"
#include "error.h"
#include "file.h"
#include "jsonequal.h"
#include "runsdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD_MAX ((size_t)4 << 20)

static cJSON *strings(char *const *items, size_t count)
{
	cJSON *array = cJSON_CreateArray();
	for (size_t i = 0; array != NULL && i < count; i++) {
		cJSON *s = cJSON_CreateString(items[i]);
		if (s == NULL || !cJSON_AddItemToArray(array, s)) {
			cJSON_Delete(s);
			cJSON_Delete(array);
			return NULL;
		}
	}
	return array;
}

static const char *name_of(const cJSON *item)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "name"));
}

static const char *digest_of(const cJSON *item)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, "digest"));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(name_of(*(const cJSON *const *)a), name_of(*(const cJSON *const *)b));
}

/* inputs as [{digest, name}], sorted by name. */
static cJSON *input_parts(const cJSON *inputs)
{
	const size_t n = (size_t)cJSON_GetArraySize(inputs);
	const cJSON **sorted = calloc(n + 1, sizeof(const cJSON *));
	cJSON *out = cJSON_CreateArray();
	size_t count = 0;
	const cJSON *in = NULL;
	cJSON_ArrayForEach(in, inputs)
	{
		if (sorted == NULL || name_of(in) == NULL || digest_of(in) == NULL)
			break;
		sorted[count++] = in;
	}
	if (sorted == NULL || out == NULL || count != n) {
		free(sorted);
		cJSON_Delete(out);
		return NULL;
	}
	qsort(sorted, count, sizeof(const cJSON *), by_name);
	for (size_t i = 0; i < count; i++) {
		cJSON *part = cJSON_CreateObject();
		if (part == NULL || !cJSON_AddItemToArray(out, part) ||
		    cJSON_AddStringToObject(part, "name", name_of(sorted[i])) == NULL ||
		    cJSON_AddStringToObject(part, "digest", digest_of(sorted[i])) == NULL) {
			if (part != NULL && cJSON_GetArraySize(out) <= (int)i)
				cJSON_Delete(part);
			free(sorted);
			cJSON_Delete(out);
			return NULL;
		}
	}
	free(sorted);
	return out;
}

/* Adds item under key, or frees it; false when either failed. */
static bool add_item(cJSON *obj, const char *key, cJSON *item)
{
	if (item != NULL && cJSON_AddItemToObject(obj, key, item))
		return true;
	cJSON_Delete(item);
	return false;
}

cJSON *aero_task_key_parts(const struct aero_task *t, const char *image_id, const cJSON *inputs)
{
	cJSON *parts = cJSON_CreateObject();
	if (parts == NULL || !add_item(parts, "command", strings(t->argv, t->argc)) ||
	    !add_item(parts, "config", cJSON_Duplicate(t->config, true)) ||
	    !add_item(parts, "inputs", input_parts(inputs)) ||
	    !add_item(parts, "outputs", strings(t->outputs, t->output_count)) ||
	    !add_item(parts, "image", cJSON_CreateString(image_id)) ||
	    !add_item(parts, "seed",
	              t->seed != NULL ? cJSON_CreateString(t->seed) : cJSON_CreateNull())) {
		cJSON_Delete(parts);
		aero_error_set("out of memory");
		return NULL;
	}
	return parts;
}

int aero_task_key(const cJSON *parts, char key[72])
{
	return aero_json_fingerprint(parts, key);
}

/* RUNS/.pipelines/SUB..., malloc'd. */
static char *state_path(const char *runs_dir, const char *a, const char *b, const char *c)
{
	char *path = NULL;
	if (asprintf(&path, "%s/.pipelines/%s%s%s%s%s.json", runs_dir, a, b != NULL ? "/" : "",
	             b != NULL ? b : "", c != NULL ? "/" : "", c != NULL ? c : "") < 0)
		return NULL;
	return path;
}

static cJSON *read_record(char *path)
{
	if (path == NULL)
		return NULL;
	char *slash = strrchr(path, '/');
	*slash = '\0';
	cJSON *record = aero_file_read_json(path, slash + 1, RECORD_MAX);
	free(path);
	return cJSON_IsObject(record) ? record : (cJSON_Delete(record), NULL);
}

cJSON *aero_task_key_find(const char *runs_dir, const char *key)
{
	if (strncmp(key, "sha256:", 7) != 0)
		return NULL;
	return read_record(state_path(runs_dir, "keys", key + 7, NULL));
}

cJSON *aero_task_last(const char *runs_dir, const char *pipeline, const char *task)
{
	return read_record(state_path(runs_dir, "last", pipeline, task));
}

static int write_record(char *path, const char *text)
{
	if (path == NULL)
		return aero_error_set("out of memory");
	char *slash = strrchr(path, '/');
	*slash = '\0';
	int rc = aero_mkdirs(path);
	*slash = '/';
	if (rc == 0)
		rc = aero_file_write_atomic(path, text);
	free(path);
	return rc;
}

int aero_task_key_save(const char *runs_dir, const cJSON *record)
{
	const cJSON *key = cJSON_GetObjectItemCaseSensitive(record, "key");
	const cJSON *pipeline = cJSON_GetObjectItemCaseSensitive(record, "pipeline");
	const cJSON *task = cJSON_GetObjectItemCaseSensitive(record, "task");
	if (!cJSON_IsString(key) || strncmp(key->valuestring, "sha256:", 7) != 0 ||
	    !cJSON_IsString(pipeline) || !cJSON_IsString(task))
		return aero_error_set("a task record needs its key, pipeline and task");
	char *text = aero_json_canonical(record);
	if (text == NULL)
		return -1;
	int rc = write_record(state_path(runs_dir, "keys", key->valuestring + 7, NULL), text);
	if (rc == 0)
		rc = write_record(
		        state_path(runs_dir, "last", pipeline->valuestring, task->valuestring),
		        text);
	free(text);
	return rc;
}

/* Appends ", word" (or "word") to *list. */
static int add_word(char **list, const char *word)
{
	char *longer = NULL;
	if (asprintf(&longer, "%s%s%s", *list, (*list)[0] != '\0' ? ", " : "", word) < 0)
		return -1;
	free(*list);
	*list = longer;
	return 0;
}

static const cJSON *input_named(const cJSON *inputs, const char *name)
{
	const cJSON *in = NULL;
	cJSON_ArrayForEach(in, inputs)
	{
		if (name_of(in) != NULL && strcmp(name_of(in), name) == 0)
			return in;
	}
	return NULL;
}

/* The names of inputs whose digest differs, or that only one side has. */
static int changed_inputs(const cJSON *before, const cJSON *now, char **names)
{
	const cJSON *in = NULL;
	cJSON_ArrayForEach(in, before)
	{
		const cJSON *other = name_of(in) != NULL ? input_named(now, name_of(in)) : NULL;
		if (name_of(in) != NULL &&
		    (other == NULL || digest_of(in) == NULL || digest_of(other) == NULL ||
		     strcmp(digest_of(in), digest_of(other)) != 0) &&
		    add_word(names, name_of(in)) < 0)
			return -1;
	}
	cJSON_ArrayForEach(in, now)
	{
		if (name_of(in) != NULL && input_named(before, name_of(in)) == NULL &&
		    add_word(names, name_of(in)) < 0)
			return -1;
	}
	return 0;
}

char *aero_task_key_changes(const cJSON *before, const cJSON *now)
{
	static const char *const simple[] = {"image", "command", "config", "seed", "outputs"};
	char *list = strdup("");
	for (size_t i = 0; list != NULL && i < sizeof(simple) / sizeof(simple[0]); i++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(before, simple[i]);
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(now, simple[i]);
		if (!aero_json_equal(a, b) && add_word(&list, simple[i]) < 0) {
			free(list);
			return NULL;
		}
	}
	char *inputs = list != NULL ? strdup("") : NULL;
	if (inputs == NULL ||
	    changed_inputs(cJSON_GetObjectItemCaseSensitive(before, "inputs"),
	                   cJSON_GetObjectItemCaseSensitive(now, "inputs"), &inputs) < 0) {
		free(inputs);
		free(list);
		return NULL;
	}
	if (inputs[0] != '\0') {
		char *word = NULL;
		if (asprintf(&word, "inputs (%s)", inputs) < 0 || add_word(&list, word) < 0) {
			free(word);
			free(inputs);
			free(list);
			return NULL;
		}
		free(word);
	}
	free(inputs);
	return list;
}
