/* What a run got and made: each artifact get and put is appended to
 * RUN_DIR/artifacts.jsonl and folded into manifest.json's `inputs` and
 * `outputs` (doc/manifest.md), under a lock, so that concurrent requests of
 * one run are all kept. */
#ifndef AERO_SHIM_ARTIFACT_RECORD_H
#define AERO_SHIM_ARTIFACT_RECORD_H

#include <cjson/cJSON.h>

/* Records result ({"op":"get"|"put","name":..,"version":..,"digest":..,...})
 * in run_dir. 0, or -1 with aero_error set. */
int aero_artifact_record(const char *run_dir, const cJSON *result);

/* The gets recorded in run_dir so far, as a new JSON array of {name,
 * version, digest} (the lineage of what this run puts); NULL when out of
 * memory. An empty array when there are none. */
cJSON *aero_artifact_recorded_inputs(const char *run_dir);

#endif
