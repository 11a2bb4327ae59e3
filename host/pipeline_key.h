/* A pipeline task's key, what an earlier run with the same key made, and
 * what changed since a task's last run: the state behind automatic skipping.
 * Kept under RUNS_DIR/.pipelines/ (doc/pipelines.md):
 *   keys/<hex>.json               the run that made a key, and its outputs
 *   last/<pipeline>/<task>.json   the last successful run of a task */
#ifndef AERO_HOST_PIPELINE_KEY_H
#define AERO_HOST_PIPELINE_KEY_H

#include "pipeline.h"

#include <cjson/cJSON.h>

/* A task's key parts: {"command", "config", "image", "inputs": [{"digest",
 * "name"}] (by name), "outputs", "seed"}; inputs is an array of objects with
 * at least name and digest. NULL with aero_error set. */
cJSON *aero_task_key_parts(const struct aero_task *t, const char *image_id, const cJSON *inputs);

/* The key: "sha256:<hex>" of the parts' canonical JSON, into key. */
int aero_task_key(const cJSON *parts, char key[72]);

/* The record of the successful run that had key, or NULL when there is none
 * (or it cannot be read). */
cJSON *aero_task_key_find(const char *runs_dir, const char *key);

/* The record of the last successful run of task in pipeline, or NULL. */
cJSON *aero_task_last(const char *runs_dir, const char *pipeline, const char *task);

/* Records a successful run: record is {"key", "parts", "pipeline", "task",
 * "run", "outputs", "finished"}; written atomically under both names. 0, or
 * -1 with aero_error set. */
int aero_task_key_save(const char *runs_dir, const cJSON *record);

/* What differs between two key parts, for a person: "config, inputs (data)";
 * malloc'd, "" when nothing does; NULL when out of memory. */
char *aero_task_key_changes(const cJSON *before, const cJSON *now);

#endif
