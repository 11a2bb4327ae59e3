/* The pipeline file: JSON, checked strictly (an unknown key is a typo until
 * proved otherwise), then the graph: producers, needs, a topological order. */
#include "pipeline.h"

#include "canonjson.h"
#include "error.h"
#include "file.h"
#include "gc.h"
#include "parse.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPELINE_FILE_MAX (16u << 20)

/* Where a problem is: "FILE: tasks[2].inputs[0]". */
struct where {
	const char *origin;
	size_t task;
	const char *field;
	long item; /* -1: the field itself */
};

/* aero_error_set, and -1 as a constant: the static analyser inlines no
 * variadic function, so it would follow paths where a failure returned 0. */
#define REFUSE(...) ((void)aero_error_set(__VA_ARGS__), -1)
/* The same, with where the problem is before the message. */
#define FAIL(w, ...) (where_error((w), __VA_ARGS__), -1)

__attribute__((format(printf, 2, 3))) static void where_error(const struct where *w,
                                                              const char *fmt, ...)
{
	char field[96];
	if (w->field == NULL)
		(void)snprintf(field, sizeof(field), "tasks[%zu]", w->task);
	else if (w->item < 0)
		(void)snprintf(field, sizeof(field), "tasks[%zu].%s", w->task, w->field);
	else
		(void)snprintf(field, sizeof(field), "tasks[%zu].%s[%ld]", w->task, w->field,
		               w->item);
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	(void)aero_error_set("%s: %s: %s", w->origin, field, message);
}

static int dup_into(char **out, const char *s)
{
	*out = strdup(s);
	return *out != NULL ? 0 : REFUSE("out of memory");
}

/* A Kubernetes-style name: [a-z0-9] and '-', 1 to 63, not starting or ending
 * with '-'; it names Argo tasks, W&B job types and run directories alike. */
static bool task_name_ok(const char *name)
{
	const size_t len = strlen(name);
	return len > 0 && len <= 63 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == len && name[0] != '-' &&
	       name[len - 1] != '-';
}

static int strings_of(const cJSON *array, struct where *w, char ***out, size_t *count,
                      bool allow_empty)
{
	if (!cJSON_IsArray(array))
		return FAIL(w, "must be an array of strings");
	const size_t n = (size_t)cJSON_GetArraySize(array);
	if (n == 0 && !allow_empty)
		return FAIL(w, "must not be empty");
	char **items = calloc(n + 1, sizeof(char *));
	if (items == NULL)
		return REFUSE("out of memory");
	*out = items;
	*count = 0;
	const cJSON *item = NULL;
	cJSON_ArrayForEach(item, array)
	{
		w->item = (long)*count;
		if (!cJSON_IsString(item))
			return FAIL(w, "must be a string");
		if ((items[*count] = strdup(item->valuestring)) == NULL)
			return REFUSE("out of memory");
		(*count)++;
	}
	w->item = -1;
	return 0;
}

/* A string, or a number as text; NULL when neither. Whole numbers print
 * whole, others with up to 9 decimals (a CPU count's precision) rather than
 * 9 significant digits, which would make 1000.123456789 CPUs 1000.12346. */
static char *number_text(const cJSON *v)
{
	char buf[64];
	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	if (!cJSON_IsNumber(v))
		return NULL;
	const double d = v->valuedouble;
	if (d >= -9007199254740991.0 && d <= 9007199254740991.0 && d == (double)(int64_t)d) {
		(void)snprintf(buf, sizeof(buf), "%lld", (long long)d);
	} else if (d > -1e15 && d < 1e15) { /* at most 16 digits, the point and 9 more */
		(void)snprintf(buf, sizeof(buf), "%.9f", d);
		size_t len = strlen(buf);
		while (buf[len - 1] == '0')
			buf[--len] = '\0';
		if (buf[len - 1] == '.')
			buf[--len] = '\0';
	} else {
		(void)snprintf(buf, sizeof(buf), "%.9g", d);
	}
	return strdup(buf);
}

/* A whole number in [0, max] from a JSON number or string, as plain decimal
 * ("+7" and "007" are 7): NULL when it is not one. */
static char *count_text(const cJSON *v, long max)
{
	char *text = number_text(v);
	long n = 0;
	if (text == NULL || aero_parse_int(text, 0, max, &n) < 0) {
		free(text);
		return NULL;
	}
	(void)snprintf(text, strlen(text) + 1, "%ld", n); /* never longer than what it read */
	return text;
}

/* The index of key among the count names of keys, or -1. */
static int key_index(const char *key, const char *const *keys, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(key, keys[i]) == 0)
			return (int)i;
	return -1;
}

/* cJSON keeps a key given twice, and the later one would silently win (or
 * leak the earlier one's value): the file says two things, so it is refused. */
static bool seen_before(unsigned *seen, int index)
{
	const unsigned bit = 1u << (unsigned)index;
	const bool before = (*seen & bit) != 0;
	*seen |= bit;
	return before;
}

static int take_resources(const cJSON *res, struct where *w, struct aero_task *t)
{
	w->field = "resources";
	if (!cJSON_IsObject(res))
		return FAIL(w, "must be an object such as {\"cpus\": 2, \"memory\": \"4g\", "
		               "\"gpus\": 1}");
	static const char *const keys[] = {"cpus", "memory", "gpus"};
	unsigned seen = 0;
	const cJSON *item = NULL;
	cJSON_ArrayForEach(item, res)
	{
		const int k = key_index(item->string, keys, sizeof(keys) / sizeof(keys[0]));
		if (k < 0)
			return FAIL(w, "unknown key '%s' (cpus, memory, gpus)", item->string);
		if (seen_before(&seen, k))
			return FAIL(w, "'%s' is given twice", item->string);
		if (k == 2) { /* gpus */
			const bool all =
			        cJSON_IsString(item) && strcmp(item->valuestring, "all") == 0;
			char *count = all ? strdup("all") : count_text(item, 1024);
			if (count == NULL)
				return FAIL(w, "gpus must be 'all' or a count from 0 to 1024");
			if (strcmp(count, "0") == 0)
				free(count); /* 0: none */
			else
				t->gpus = count;
			continue;
		}
		char *text = number_text(item);
		if (text == NULL)
			return FAIL(w, "'%s' must be a number or a string", item->string);
		if (k == 0) {
			t->cpus = text;
			if (aero_parse_cpus(text, &t->nano_cpus) < 0)
				return FAIL(w, "%s", aero_error_last());
		} else {
			t->memory = text;
			uint64_t bytes = 0;
			if (aero_size_parse(text, &bytes) < 0 || bytes == 0 || bytes > (1ULL << 50))
				return FAIL(w, "memory '%s' is not a size such as 4g or 512m",
				            text);
			t->memory_bytes = (long long)bytes;
		}
	}
	return 0;
}

static int take_inputs(const cJSON *array, struct where *w, struct aero_task *t)
{
	char **texts = NULL;
	size_t n = 0;
	w->field = "inputs";
	int rc = strings_of(array, w, &texts, &n, true);
	if (rc == 0 && (t->inputs = calloc(n + 1, sizeof(*t->inputs))) == NULL)
		rc = REFUSE("out of memory");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		w->item = (long)i;
		if (aero_artifact_ref_parse(texts[i], &t->inputs[i].ref) < 0)
			rc = FAIL(w, "%s", aero_error_last());
		t->inputs[i].producer = -1;
		for (size_t j = 0; rc == 0 && j < i; j++)
			if (strcmp(t->inputs[j].ref.name, t->inputs[i].ref.name) == 0)
				rc = FAIL(w, "artifact '%s' is an input twice", texts[i]);
		t->input_count = i + 1;
	}
	w->item = -1;
	for (size_t i = 0; texts != NULL && i < n; i++)
		free(texts[i]);
	free(texts);
	return rc;
}

static int take_task(const cJSON *obj, struct where *w, struct aero_task *t, char ***after,
                     size_t *after_count)
{
	static const char *const keys[] = {"name",  "command", "image", "inputs",   "outputs",
	                                   "after", "config",  "seed",  "resources"};
	if (!cJSON_IsObject(obj))
		return FAIL(w, "a task must be an object with a \"name\" and a \"command\"");
	unsigned seen = 0;
	const cJSON *item = NULL;
	cJSON_ArrayForEach(item, obj)
	{
		const char *key = item->string;
		w->field = key;
		w->item = -1;
		const int k = key_index(key, keys, sizeof(keys) / sizeof(keys[0]));
		if (k < 0)
			return FAIL(
			        w,
			        "unknown key '%s' (name, command, image, inputs, outputs, after, "
			        "config, seed, resources)",
			        key);
		if (seen_before(&seen, k))
			return FAIL(w, "given twice in this task");
		int rc = 0;
		if (strcmp(key, "name") == 0) {
			if (!cJSON_IsString(item) || !task_name_ok(item->valuestring))
				return FAIL(w, "a task's name is 1 to 63 of a-z, 0-9 and '-', not "
				               "starting or ending with '-'");
			rc = dup_into(&t->name, item->valuestring);
		} else if (strcmp(key, "command") == 0) {
			rc = strings_of(item, w, &t->argv, &t->argc, false);
		} else if (strcmp(key, "image") == 0) {
			if (!cJSON_IsString(item) || item->valuestring[0] == '\0')
				return FAIL(w, "must name an image, such as \"python:3.12\"");
			rc = dup_into(&t->image, item->valuestring);
		} else if (strcmp(key, "inputs") == 0) {
			rc = take_inputs(item, w, t);
		} else if (strcmp(key, "outputs") == 0) {
			rc = strings_of(item, w, &t->outputs, &t->output_count, true);
			for (size_t i = 0; rc == 0 && i < t->output_count; i++) {
				w->item = (long)i;
				if (aero_artifact_name_check(t->outputs[i]) < 0)
					return FAIL(w, "%s", aero_error_last());
				for (size_t j = 0; j < i; j++)
					if (strcmp(t->outputs[i], t->outputs[j]) == 0)
						return FAIL(w, "'%s' is an output twice",
						            t->outputs[i]);
			}
		} else if (strcmp(key, "after") == 0) {
			rc = strings_of(item, w, after, after_count, true);
		} else if (strcmp(key, "config") == 0) {
			if (!cJSON_IsObject(item))
				return FAIL(w, "must be an object of settings");
			cJSON_Delete(t->config);
			t->config = cJSON_Duplicate(item, true);
			rc = t->config != NULL ? 0 : REFUSE("out of memory");
		} else if (strcmp(key, "seed") == 0) {
			if ((t->seed = count_text(item, 4294967295L)) == NULL)
				return FAIL(w, "a seed is a whole number from 0 to 2^32-1");
		} else {
			rc = take_resources(item, w, t);
		}
		if (rc < 0)
			return rc;
	}
	w->field = NULL;
	if (t->name == NULL)
		return FAIL(w, "a task needs a \"name\"");
	if (t->argv == NULL)
		return FAIL(w, "a task needs a \"command\", an array such as [\"python3\", "
		               "\"train.py\"]");
	if (t->config == NULL && (t->config = cJSON_CreateObject()) == NULL)
		return REFUSE("out of memory");
	return 0;
}

static int add_need(struct aero_task *t, size_t need)
{
	for (size_t i = 0; i < t->need_count; i++)
		if (t->needs[i] == need)
			return 0;
	size_t *bigger = realloc(t->needs, (t->need_count + 1) * sizeof(*bigger));
	if (bigger == NULL)
		return REFUSE("out of memory");
	t->needs = bigger;
	size_t at = t->need_count++;
	for (; at > 0 && t->needs[at - 1] > need; at--)
		t->needs[at] = t->needs[at - 1];
	t->needs[at] = need;
	return 0;
}

/* Producers for inputs, "after" for order, then the needs. */
static int link_tasks(struct aero_pipeline *p, const char *origin, char ***after,
                      const size_t *after_count)
{
	for (size_t i = 0; i < p->count; i++) {
		struct where w = {.origin = origin, .task = i, .field = "name", .item = -1};
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->tasks[i].name, p->tasks[j].name) == 0)
				return FAIL(&w, "two tasks are called '%s'", p->tasks[i].name);
		for (size_t o = 0; o < p->tasks[i].output_count; o++)
			for (size_t j = 0; j < i; j++)
				for (size_t q = 0; q < p->tasks[j].output_count; q++)
					if (strcmp(p->tasks[i].outputs[o],
					           p->tasks[j].outputs[q]) == 0) {
						w.field = "outputs";
						w.item = (long)o;
						return FAIL(
						        &w,
						        "'%s' is also an output of task '%s': each "
						        "artifact has one producer",
						        p->tasks[i].outputs[o], p->tasks[j].name);
					}
	}
	for (size_t i = 0; i < p->count; i++) {
		struct aero_task *t = &p->tasks[i];
		struct where w = {.origin = origin, .task = i, .field = "inputs"};
		for (size_t k = 0; k < t->input_count; k++) {
			struct aero_task_input *in = &t->inputs[k];
			w.item = (long)k;
			for (size_t j = 0; j < p->count && in->producer < 0; j++)
				for (size_t q = 0; q < p->tasks[j].output_count; q++)
					if (strcmp(p->tasks[j].outputs[q], in->ref.name) == 0)
						in->producer = (long)j;
			if (in->producer < 0)
				continue;
			if ((size_t)in->producer == i)
				return FAIL(&w, "'%s' is this task's own output", in->ref.name);
			if (in->ref.kind != AERO_REF_LATEST)
				return FAIL(
				        &w,
				        "a version of '%s' is named, but a task of this pipeline "
				        "makes it: write the name alone to take that task's "
				        "output",
				        in->ref.name);
			if (add_need(t, (size_t)in->producer) < 0)
				return -1;
		}
		w.field = "after";
		for (size_t k = 0; k < after_count[i]; k++) {
			w.item = (long)k;
			const long j = aero_pipeline_find(p, after[i][k]);
			if (j < 0)
				return FAIL(&w, "no task is called '%s'", after[i][k]);
			if ((size_t)j == i)
				return FAIL(&w, "a task cannot come after itself");
			if (add_need(t, (size_t)j) < 0)
				return -1;
		}
	}
	return 0;
}

/* The n tasks of a cycle, each needing the next: as a list "a, b, c", or as
 * a chain "a needs b, which needs c, which needs a"; a few shown, not all. */
static void cycle_text(char *buf, size_t size, const struct aero_pipeline *p, const size_t *cycle,
                       size_t n, bool chain)
{
	enum { SHOWN = 8 };
	size_t used = 0;
	for (size_t k = 0; k < n && k < SHOWN && used < size; k++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
		                         k == 0   ? ""
		                         : !chain ? ", "
		                         : k == 1 ? " needs "
		                                  : ", which needs ",
		                         p->tasks[cycle[k]].name);
	if (n > SHOWN && used < size)
		used += (size_t)snprintf(buf + used, size - used,
		                         chain ? ", ..." : ", ... (%zu tasks)", n);
	if (chain && used < size)
		(void)snprintf(buf + used, size - used, "%s%s",
		               n > 1 ? ", which needs " : " needs ", p->tasks[cycle[0]].name);
}

/* Every task left unplaced needs another one left unplaced (else it would be
 * ready): following those needs from the first comes back to a task seen,
 * and the way from it back to itself is a cycle, named in the error. Tasks
 * that merely follow from a cycle are not named. */
static int cycle_error(const struct aero_pipeline *p, const bool *done, const char *origin)
{
	long *step = malloc(p->count * sizeof(long));
	size_t *path = malloc(p->count * sizeof(size_t));
	if (step == NULL || path == NULL) {
		free(step);
		free(path);
		return REFUSE("out of memory");
	}
	for (size_t i = 0; i < p->count; i++)
		step[i] = -1;
	size_t at = 0, n = 0;
	while (at < p->count && done[at])
		at++;
	while (at < p->count && step[at] < 0) {
		step[at] = (long)n;
		path[n++] = at;
		const struct aero_task *t = &p->tasks[at];
		for (size_t k = 0; k < t->need_count; k++)
			if (!done[t->needs[k]]) {
				at = t->needs[k];
				break;
			}
	}
	if (at == p->count) { /* every task placed: not called so */
		free(step);
		free(path);
		return REFUSE("%s: no cycle found where one was expected", origin);
	}
	const size_t *cycle = path + step[at], length = n - (size_t)step[at];
	/* 8 names of at most 63 characters, and the words between them. */
	char names[1024], chain[1024];
	cycle_text(names, sizeof(names), p, cycle, length, false);
	cycle_text(chain, sizeof(chain), p, cycle, length, true);
	const int rc = REFUSE("%s: the tasks %s wait on each other in a cycle: %s; break it "
	                      "in their \"inputs\" or \"after\"",
	                      origin, names, chain);
	free(step);
	free(path);
	return rc;
}

/* Kahn's algorithm, taking the lowest index first so the order is the file's
 * wherever the graph allows. */
static int order_tasks(struct aero_pipeline *p, const char *origin)
{
	p->order = calloc(p->count + 1, sizeof(size_t));
	bool *done = calloc(p->count + 1, sizeof(bool));
	if (p->order == NULL || done == NULL) {
		free(done);
		return REFUSE("out of memory");
	}
	size_t placed = 0;
	for (bool progress = true; progress && placed < p->count;) {
		progress = false;
		for (size_t i = 0; i < p->count; i++) {
			bool ready = !done[i];
			for (size_t k = 0; ready && k < p->tasks[i].need_count; k++)
				ready = done[p->tasks[i].needs[k]];
			if (ready) {
				done[i] = true;
				p->order[placed++] = i;
				progress = true;
				break;
			}
		}
	}
	const int rc = placed < p->count ? cycle_error(p, done, origin) : 0;
	free(done);
	return rc;
}

/* Where cJSON stopped, as the line and column an editor shows. */
static int not_json(const char *text, size_t len, const char *end, const char *origin)
{
	const size_t at =
	        end != NULL && end >= text && end <= text + len ? (size_t)(end - text) : 0;
	size_t line = 1, column = 1;
	for (size_t i = 0; i < at; i++) {
		column = text[i] == '\n' ? 1 : column + 1;
		line += text[i] == '\n';
	}
	return REFUSE("%s: not JSON (line %zu, column %zu); see doc/pipelines.md", origin, line,
	              column);
}

static char *name_of_file(const char *origin)
{
	const char *base = strrchr(origin, '/');
	base = base != NULL ? base + 1 : origin;
	size_t len = strlen(base);
	if (len > 5 && strcmp(base + len - 5, ".json") == 0)
		len -= 5;
	if (len > 63)
		len = 63;
	char *name = len > 0 ? strndup(base, len) : strdup("pipeline");
	for (char *c = name; c != NULL && *c != '\0'; c++) { /* "My_Steps" -> "my-steps" */
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
		else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			*c = '-';
	}
	if (name != NULL && (name[0] == '-' || name[strlen(name) - 1] == '-')) {
		free(name);
		name = strdup("pipeline");
	}
	return name;
}

/* The top level: known keys, once each; a non-empty array of tasks, not too
 * many of them; a good name, if any. */
static int check_top(const cJSON *doc, const char *origin)
{
	static const char *const keys[] = {"name", "tasks"};
	const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(doc, "tasks");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
	if (!cJSON_IsObject(doc) || !cJSON_IsArray(tasks) || cJSON_GetArraySize(tasks) == 0) {
		const cJSON *top = cJSON_IsObject(doc) ? doc : NULL; /* a typo of "tasks"? */
		const cJSON *item = NULL;
		cJSON_ArrayForEach(item, top)
		{
			if (key_index(item->string, keys, 2) < 0)
				return REFUSE("%s: unknown key '%s' (a pipeline has \"name\" and "
				              "\"tasks\")",
				              origin, item->string);
		}
		return REFUSE("%s: a pipeline is an object with \"tasks\", a non-empty array of "
		              "tasks; see doc/pipelines.md",
		              origin);
	}
	unsigned seen = 0;
	const cJSON *item = NULL;
	cJSON_ArrayForEach(item, doc)
	{
		const int k = key_index(item->string, keys, 2);
		if (k < 0)
			return REFUSE(
			        "%s: unknown key '%s' (a pipeline has \"name\" and \"tasks\")",
			        origin, item->string);
		if (seen_before(&seen, k))
			return REFUSE("%s: \"%s\" is given twice", origin, item->string);
	}
	if (cJSON_GetArraySize(tasks) > AERO_PIPELINE_TASKS_MAX)
		return REFUSE("%s: more than %d tasks; split the pipeline into smaller ones",
		              origin, AERO_PIPELINE_TASKS_MAX);
	if (name != NULL && (!cJSON_IsString(name) || !task_name_ok(name->valuestring)))
		return REFUSE("%s: \"name\" is 1 to 63 of a-z, 0-9 and '-', not starting or ending "
		              "with '-'",
		              origin);
	return 0;
}

/* Each task, then the graph; after[i] holds task i's "after" until then. */
static int take_tasks(const cJSON *tasks, const char *origin, struct aero_pipeline *p)
{
	char ***after = calloc(p->count, sizeof(char **));
	size_t *after_count = calloc(p->count, sizeof(size_t));
	int rc = after != NULL && after_count != NULL ? 0 : REFUSE("out of memory");
	/* Bounded by the count as well as by the list, which have one length. */
	size_t i = 0;
	for (const cJSON *item = tasks->child; rc == 0 && item != NULL && i < p->count;
	     item = item->next, i++) {
		struct where w = {.origin = origin, .task = i, .item = -1};
		rc = take_task(item, &w, &p->tasks[i], &after[i], &after_count[i]);
	}
	if (rc == 0 && i != p->count)
		rc = REFUSE("%s: %zu tasks read of %zu", origin, i, p->count);
	if (rc == 0)
		rc = link_tasks(p, origin, after, after_count);
	if (rc == 0)
		rc = order_tasks(p, origin);
	for (size_t k = 0; after != NULL && after_count != NULL && k < p->count; k++) {
		for (size_t j = 0; after[k] != NULL && j < after_count[k]; j++)
			free(after[k][j]);
		free(after[k]);
	}
	free(after);
	free(after_count);
	return rc;
}

int aero_pipeline_parse(const char *text, size_t len, const char *origin, struct aero_pipeline *p)
{
	memset(p, 0, sizeof(*p));
	const char *end = NULL;
	cJSON *doc = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (doc == NULL)
		return not_json(text, len, end, origin);
	int rc = check_top(doc, origin);
	if (rc == 0) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(doc, "name");
		const cJSON *tasks = cJSON_GetObjectItemCaseSensitive(doc, "tasks");
		p->name = name != NULL ? strdup(name->valuestring) : name_of_file(origin);
		p->count = (size_t)cJSON_GetArraySize(tasks);
		p->tasks = calloc(p->count, sizeof(*p->tasks));
		rc = p->name != NULL && p->tasks != NULL ? take_tasks(tasks, origin, p)
		                                         : REFUSE("out of memory");
	}
	cJSON_Delete(doc);
	if (rc < 0)
		aero_pipeline_free(p);
	return rc < 0 ? -1 : 0;
}

int aero_pipeline_load(const char *path, struct aero_pipeline *p)
{
	memset(p, 0, sizeof(*p));
	size_t len = 0;
	char *text = aero_file_read(path, PIPELINE_FILE_MAX, &len);
	if (text == NULL)
		return REFUSE("cannot read the pipeline %s: %s", path, aero_error_last());
	const int rc = aero_pipeline_parse(text, len, path, p);
	free(text);
	return rc;
}

long aero_pipeline_find(const struct aero_pipeline *p, const char *name)
{
	for (size_t i = 0; i < p->count; i++)
		if (p->tasks[i].name != NULL && strcmp(p->tasks[i].name, name) == 0)
			return (long)i;
	return -1;
}

void aero_pipeline_downstream(const struct aero_pipeline *p, size_t i, bool *mark)
{
	mark[i] = true;
	/* The order puts every task after what it needs: one pass suffices. */
	for (size_t k = 0; k < p->count; k++) {
		const struct aero_task *t = &p->tasks[p->order[k]];
		for (size_t n = 0; n < t->need_count && !mark[p->order[k]]; n++)
			if (mark[t->needs[n]])
				mark[p->order[k]] = true;
	}
}

char *aero_pipeline_task_env(const struct aero_pipeline *p, const struct aero_task *t,
                             const char *id, const char *key, const cJSON *inputs)
{
	cJSON *e = cJSON_CreateObject();
	cJSON *config = cJSON_Duplicate(t->config, true);
	char *text = NULL;
	if (e != NULL && config != NULL && cJSON_AddItemToObject(e, "config", config)) {
		config = NULL; /* e's now */
		cJSON *in = inputs != NULL ? cJSON_Duplicate(inputs, true) : NULL;
		if (cJSON_AddStringToObject(e, "name", p->name) != NULL &&
		    cJSON_AddStringToObject(e, "id", id) != NULL &&
		    cJSON_AddStringToObject(e, "task", t->name) != NULL &&
		    (key == NULL || cJSON_AddStringToObject(e, "key", key) != NULL) &&
		    (inputs == NULL || (in != NULL && cJSON_AddItemToObject(e, "inputs", in))))
			text = aero_json_canonical(e);
		else if (in != NULL && cJSON_GetObjectItemCaseSensitive(e, "inputs") != in)
			cJSON_Delete(in);
	}
	cJSON_Delete(config);
	cJSON_Delete(e);
	return text;
}

static void strings_free(char **items, size_t count)
{
	for (size_t i = 0; items != NULL && i < count; i++)
		free(items[i]);
	free(items);
}

void aero_pipeline_free(struct aero_pipeline *p)
{
	for (size_t i = 0; p->tasks != NULL && i < p->count; i++) {
		struct aero_task *t = &p->tasks[i];
		free(t->name);
		strings_free(t->argv, t->argc);
		free(t->image);
		free(t->inputs);
		strings_free(t->outputs, t->output_count);
		free(t->needs);
		cJSON_Delete(t->config);
		free(t->seed);
		free(t->cpus);
		free(t->memory);
		free(t->gpus);
	}
	free(p->tasks);
	free(p->order);
	free(p->name);
	memset(p, 0, sizeof(*p));
}
