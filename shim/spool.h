/* The local sink: the run directory's files, written as records arrive, and
 * the spool every tracker is fed from. See doc/channel.md. */
#ifndef AERO_SHIM_SPOOL_H
#define AERO_SHIM_SPOOL_H

#include <cjson/cJSON.h>

struct aero_spool;

/* Opens (creating) the record files of run_dir. 0, or -1 with aero_error set. */
int aero_spool_open(struct aero_spool **spool, const char *run_dir);

/* Appends one history row to metrics.jsonl with _step (step, or the last + 1
 * when step is NULL), _timestamp and _runtime. -1 with aero_error when the
 * row is refused (a reserved key, a step that goes back) or cannot be written. */
int aero_spool_log(struct aero_spool *spool, const cJSON *data, const cJSON *step);

/* Merges data into summary.json, config.json or run.json (tags, notes),
 * rewritten atomically. */
int aero_spool_merge(struct aero_spool *spool, const char *file, const cJSON *data);

/* Flushes everything to disk (fsync) and frees the spool. */
void aero_spool_close(struct aero_spool *spool);

#endif
