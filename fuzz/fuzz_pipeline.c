/* The pipeline file's parser (host/pipeline.c) on any bytes, as an exact-size
 * buffer. What it accepts must be the graph it promises: names valid and
 * unique, needs sorted and followed by the order, producers that make what
 * is read, downstream closed under needs; what it refuses it refuses with a
 * message that names the file. Both printers of `pipeline graph` run on
 * every pipeline accepted, and the DOT text's quotes must balance. */
#include "pipeline.h"
#include "pipeline_graph.h"

#include "error.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ORIGIN "fuzz.json"

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool name_ok(const char *name)
{
	const size_t len = strlen(name);
	return len > 0 && len <= 63 &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == len && name[0] != '-' &&
	       name[len - 1] != '-';
}

static bool needs(const struct aero_task *t, size_t j)
{
	for (size_t n = 0; n < t->need_count; n++)
		if (t->needs[n] == j)
			return true;
	return false;
}

/* The task that outputs name, or -1. */
static long producer_of(const struct aero_pipeline *p, const char *name)
{
	for (size_t j = 0; j < p->count; j++)
		for (size_t o = 0; o < p->tasks[j].output_count; o++)
			if (strcmp(p->tasks[j].outputs[o], name) == 0)
				return (long)j;
	return -1;
}

static void check_task(const struct aero_pipeline *p, size_t i, const size_t *position)
{
	const struct aero_task *t = &p->tasks[i];
	check(name_ok(t->name) && aero_pipeline_find(p, t->name) == (long)i);
	check(t->argc > 0 && t->argv[t->argc] == NULL && cJSON_IsObject(t->config));
	for (size_t n = 0; n < t->need_count; n++) {
		check(t->needs[n] < p->count && t->needs[n] != i);
		check(n == 0 || t->needs[n - 1] < t->needs[n]);
		check(position[t->needs[n]] < position[i]);
	}
	for (size_t k = 0; k < t->input_count; k++) {
		const struct aero_task_input *in = &t->inputs[k];
		check(in->producer == producer_of(p, in->ref.name));
		if (in->producer >= 0)
			check(in->ref.kind == AERO_REF_LATEST && needs(t, (size_t)in->producer));
	}
	check((t->cpus != NULL) == (t->nano_cpus > 0) && t->nano_cpus <= 1024000000000LL);
	check((t->memory != NULL) == (t->memory_bytes > 0));
	check(t->gpus == NULL || strcmp(t->gpus, "0") != 0);
	if (t->seed != NULL)
		check(t->seed[0] != '\0' && strspn(t->seed, "0123456789") == strlen(t->seed) &&
		      (t->seed[0] != '0' || t->seed[1] == '\0') && strlen(t->seed) <= 10);
}

/* From each task, downstream marks exactly the tasks that need a marked one. */
static void check_downstream(const struct aero_pipeline *p)
{
	bool *mark = calloc(p->count, sizeof(bool));
	check(mark != NULL);
	for (size_t from = 0; from < p->count && from < 16; from++) {
		memset(mark, 0, p->count * sizeof(bool));
		aero_pipeline_downstream(p, from, mark);
		for (size_t i = 0; i < p->count; i++) {
			bool follows = i == from;
			for (size_t n = 0; n < p->tasks[i].need_count; n++)
				follows = follows || mark[p->tasks[i].needs[n]];
			check(mark[i] == follows);
		}
	}
	free(mark);
}

static void check_printers(const struct aero_pipeline *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	check(out != NULL);
	aero_pipeline_graph_text(out, p);
	check(fclose(out) == 0 && strncmp(text, "pipeline ", 9) == 0);
	free(text);

	out = open_memstream(&text, &len);
	check(out != NULL);
	aero_pipeline_graph_dot(out, p);
	check(fclose(out) == 0 && strncmp(text, "digraph \"", 9) == 0);
	bool quoted = false;
	for (size_t i = 0; i < len; i++) {
		if (quoted && text[i] == '\\')
			i++;
		else if (text[i] == '"')
			quoted = !quoted;
		else
			check(quoted || text[i] != '\n' || i == 0 || text[i - 1] == ';' ||
			      text[i - 1] == '{' || text[i - 1] == '}');
	}
	check(!quoted && len > 2 && strcmp(text + len - 2, "}\n") == 0);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: the parser must not read past len. */
	char *text = malloc(size > 0 ? size : 1);
	check(text != NULL);
	if (size > 0)
		memcpy(text, data, size);
	struct aero_pipeline p;
	if (aero_pipeline_parse(text, size, ORIGIN, &p) < 0) {
		check(strncmp(aero_error_last(), ORIGIN ": ", strlen(ORIGIN) + 2) == 0 ||
		      strcmp(aero_error_last(), "out of memory") == 0);
		check(p.tasks == NULL && p.name == NULL && p.order == NULL);
		free(text);
		return 0;
	}
	check(p.count > 0 && p.count <= AERO_PIPELINE_TASKS_MAX && name_ok(p.name));
	size_t *position = malloc(p.count * sizeof(size_t));
	check(position != NULL);
	for (size_t i = 0; i < p.count; i++)
		position[i] = SIZE_MAX;
	for (size_t k = 0; k < p.count; k++) {
		check(p.order[k] < p.count && position[p.order[k]] == SIZE_MAX);
		position[p.order[k]] = k;
	}
	for (size_t i = 0; i < p.count; i++)
		check_task(&p, i, position);
	/* Each artifact has one producer. */
	for (size_t i = 0; i < p.count; i++)
		for (size_t o = 0; o < p.tasks[i].output_count; o++)
			check(producer_of(&p, p.tasks[i].outputs[o]) == (long)i);
	check_downstream(&p);
	check_printers(&p);
	free(position);
	aero_pipeline_free(&p);
	free(text);
	return 0;
}
