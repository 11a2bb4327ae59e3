/* A pipeline file (doc/pipelines.md): tasks, the artifacts they take and
 * make, and the graph that follows from them. Pure: no engine, no store. */
#ifndef AERO_HOST_PIPELINE_H
#define AERO_HOST_PIPELINE_H

#include "ref.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* The most tasks one pipeline may hold. */
#define AERO_PIPELINE_TASKS_MAX 1024

/* An input: a version in the store, or what another task outputs. */
struct aero_task_input {
	struct aero_artifact_ref ref; /* as written: "data", "raw:v3", "x@sha256:..." */
	long producer;                /* the index of the task that outputs it, or -1 */
};

struct aero_task {
	char *name;  /* [a-z0-9] and '-', at most 63 (a Kubernetes name) */
	char **argv; /* the command, NULL-terminated; argc of them */
	size_t argc;
	char *image; /* NULL: the project's image, built from the commit */
	struct aero_task_input *inputs;
	size_t input_count;
	char **outputs; /* artifact names this task puts */
	size_t output_count;
	size_t *needs; /* the tasks it follows (producers and "after"), sorted, once each */
	size_t need_count;
	cJSON *config;                     /* an object, never NULL ({} when the file has none) */
	char *seed;                        /* decimal 0 to 2^32-1, or NULL: drawn by aero-init */
	char *cpus;                        /* "2", "0.5", or NULL: no limit */
	char *memory;                      /* "4g", or NULL: no limit */
	char *gpus;                        /* "all", a count, or NULL: none */
	long long nano_cpus, memory_bytes; /* the same as numbers; 0 when none */
};

struct aero_pipeline {
	char *name; /* "name", else the file's name without .json */
	struct aero_task *tasks;
	size_t count;
	size_t *order; /* the tasks in an order where each follows what it needs */
};

/* Parses and checks a pipeline's text; origin names it in messages. 0, or -1
 * with aero_error saying what is wrong and where ("tasks[2].inputs[0]: ..."). */
int aero_pipeline_parse(const char *text, size_t len, const char *origin, struct aero_pipeline *p);

/* Reads and parses the file at path (at most 16 MiB). 0, or -1 with aero_error. */
int aero_pipeline_load(const char *path, struct aero_pipeline *p);

/* The index of the task called name, or -1. */
long aero_pipeline_find(const struct aero_pipeline *p, const char *name);

/* Marks in mark[] (count entries) the tasks that follow from task i, itself
 * included: what must run again when i does. */
void aero_pipeline_downstream(const struct aero_pipeline *p, size_t i, bool *mark);

/* AERO_PIPELINE for task t of p (doc/pipelines.md): the canonical JSON of
 * {"name", "id", "task", "config"} and, when not NULL, "key" and "inputs".
 * id is the pipeline run's. malloc'd; NULL when out of memory. */
char *aero_pipeline_task_env(const struct aero_pipeline *p, const struct aero_task *t,
                             const char *id, const char *key, const cJSON *inputs);

/* Frees what parse allocated; p may be half-filled. */
void aero_pipeline_free(struct aero_pipeline *p);

#endif
