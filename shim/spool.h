/* The local sink: the run directory's files, written as records arrive, and
 * the spool every tracker is fed from. See doc/channel.md. */
#ifndef AERO_SHIM_SPOOL_H
#define AERO_SHIM_SPOOL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Writes the queued rows, after any that wait for room, with one write(2).
 * 0: everything recorded so far is on disk, and may be acknowledged; 1: some
 * of it waits in memory for room on the disk (doc/channel.md), to be written
 * by a later flush or aero_spool_retry. */
int aero_spool_flush(struct aero_spool *spool);

/* aero_spool_flush in two halves: starts writing the queued rows on a
 * thread and returns, so that the next batch can be read meanwhile; then
 * waits for that write and returns flush's 0 or 1 for the rows it wrote. */
void aero_spool_start(struct aero_spool *spool);
int aero_spool_finish(struct aero_spool *spool);

/* Whether the write aero_spool_start began is still going. */
bool aero_spool_writing(const struct aero_spool *spool);

/* Whether the rows waiting for room have reached their bound
 * (AERO_DISKFULL_RECORDS_MAX): the channel reads no more until they have not. */
bool aero_spool_full(const struct aero_spool *spool);

/* CLOCK_MONOTONIC milliseconds at which aero_spool_retry has work, or 0 for never. */
int64_t aero_spool_retry_ms(const struct aero_spool *spool);

/* When it is due, tries again to write what waits for room (rows, merged
 * files, system samples). 0 or 1 as aero_spool_flush. */
int aero_spool_retry(struct aero_spool *spool);

/* Merges data into summary.json, config.json or run.json (tags, notes),
 * rewritten atomically; when the disk has no room, the previous version
 * stays and the file waits (aero_spool_flush then returns 1). 0, or -1
 * with aero_error set (out of memory, no such file). */
int aero_spool_merge(struct aero_spool *spool, const char *file, const cJSON *data);

/* Appends one sample of system metrics to system.jsonl with _timestamp and
 * _runtime, in one write; while the disk has no room, samples wait, up to a
 * bound, then are skipped. */
int aero_spool_system(struct aero_spool *spool, cJSON *row);

/* Tries once more to write what waits, flushes everything to disk (fsync)
 * and frees the spool. 1 when some of the experiment's records could still
 * not be written (said on stderr, which), else 0. */
int aero_spool_close(struct aero_spool *spool);

#endif
