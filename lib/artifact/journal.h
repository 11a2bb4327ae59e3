/* The run's journal of artifacts: each get and put of a run is appended to
 * RUN_DIR/artifacts.jsonl and folded into manifest.json's `inputs` and
 * `outputs` (doc/manifest.md), under a lock, so that concurrent transfers of
 * one run are all kept. */
#ifndef AERO_ARTIFACT_JOURNAL_H
#define AERO_ARTIFACT_JOURNAL_H

#include <cjson/cJSON.h>

/* Appends line (one JSON object: {"op":"get"|"put","name","version","digest",
 * ...}, no newline) to run_dir's journal, syncs it, and rebuilds the
 * manifest's inputs and outputs; a put is noted in run_dir/outputs/NAME too
 * (outputs.h). 0, or -1 with aero_error set. */
int aero_artifact_journal_write(const char *run_dir, const char *line);

/* The artifact versions run_dir's journal got (op "get") into inputs and put
 * into outputs, appended as {name, version, digest, files, size}, each once;
 * either may be NULL; no journal adds nothing. 0, or -1 with aero_error set. */
int aero_artifact_journal_read(const char *run_dir, cJSON *inputs, cJSON *outputs);

#endif
