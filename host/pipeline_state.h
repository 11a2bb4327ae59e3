/* The state of one `aero-launch pipeline run`, shared by its two halves:
 * pipeline_run.c (options, scheduling, the record) and pipeline_task.c (what
 * each task becomes: skipped, run, failed). Private to them. */
#ifndef AERO_HOST_PIPELINE_STATE_H
#define AERO_HOST_PIPELINE_STATE_H

#include "clock.h"
#include "pipeline.h"
#include "pipeline_exec.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AERO_PIPELINE_JOBS_MAX 64

struct aero_pipeline_options {
	const char *file, *repo, *from, *tracker, *dockerfile, *network;
	const char **only, **env;
	size_t only_count, env_count;
	long jobs;
	bool dry_run, force, allow_unpushed, json, quiet;
};

enum aero_task_state {
	WAITING,
	RUNNING,
	RAN,
	SKIPPED,   /* up to date: an earlier run's outputs are used */
	WOULD_RUN, /* --dry-run */
	FAILED,
	BLOCKED, /* something it needs failed or is not up to date */
	REUSED,  /* not selected, up to date */
	STALE,   /* not selected, not up to date */
};

struct aero_task_slot {
	enum aero_task_state state;
	bool selected, forced;
	char *run_id; /* the run that made the outputs */
	char key[72];
	cJSON *parts, *inputs, *outputs;
	char *why;
	int exit_status;
	int64_t started_ms;
	char started[AERO_UTC_SIZE]; /* when it was started, UTC */
	double seconds;
	char *image_id, *image_content;
	char prefix[80];
	struct aero_task_proc proc;
};

struct aero_pipeline_run {
	struct aero_pipeline_options o;
	struct aero_pipeline p;
	struct aero_task_slot *s;
	char *self, *runs, *id, *project_image, *record_path;
	struct aero_store *store;
	char *store_url;
	size_t running;
	int forwarded; /* the stop signal passed on to the running tasks */
};

/* The status names of the record, by state. */
extern const char *const aero_task_state_names[];

/* The signal that asked the pipeline to stop, or 0. */
extern volatile sig_atomic_t aero_pipeline_stop;

/* Decides what task i becomes once what it needs is settled: skipped, failed,
 * or started when a job is free; *waiting when it must wait. 0, or -1 with
 * aero_error set (out of memory). */
int aero_task_settle(struct aero_pipeline_run *r, size_t i, bool *waiting);

/* Task i's process ended with status: its outputs checked, its key recorded. */
void aero_task_finish(struct aero_pipeline_run *r, size_t i, int status);

#endif
