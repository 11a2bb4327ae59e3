/* The local sink: the run directory's files, written as records arrive, and
 * the spool every tracker is fed from. See doc/channel.md. */
#ifndef AERO_SHIM_SPOOL_H
#define AERO_SHIM_SPOOL_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct aero_spool;

/* Opens (creating) the record files of run_dir. 0, or -1 with aero_error set. */
int aero_spool_open(struct aero_spool **spool, const char *run_dir);

/* aero_spool_log's step for "the last row's step + 1" (0 for the first). */
#define AERO_SPOOL_NEXT_STEP (-1LL)

/* Queues one history row for metrics.jsonl: the data object's text as sent
 * (data, len bytes, a valid JSON object) with _step, _timestamp and _runtime
 * (the rows queued between two flushes share the last two). -1 with
 * aero_error when the step goes back. */
int aero_spool_log(struct aero_spool *spool, const char *data, size_t len, long long step);

/* Writes the queued rows with one write(2). Rows count as recorded, and may
 * be acknowledged, only once this returns 0. */
int aero_spool_flush(struct aero_spool *spool);

/* Merges data into summary.json, config.json or run.json (tags, notes),
 * rewritten atomically. */
int aero_spool_merge(struct aero_spool *spool, const char *file, const cJSON *data);

/* Appends one sample of system metrics to system.jsonl with _timestamp and
 * _runtime, in one write. */
int aero_spool_system(struct aero_spool *spool, cJSON *row);

/* Flushes everything to disk (fsync) and frees the spool. */
void aero_spool_close(struct aero_spool *spool);

#endif
