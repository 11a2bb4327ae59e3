/* An append-only file of lines (metrics.jsonl, system.jsonl, output.log)
 * whose writes wait in memory, in order, while the disk cannot take them (a
 * full disk, a quota): what could not be written stays queued and is written
 * by a later flush, and the file never keeps a torn line. See doc/channel.md. */
#ifndef AERO_SHIM_APPENDER_H
#define AERO_SHIM_APPENDER_H

#include <stdbool.h>
#include <stddef.h>

struct aero_appender;

/* Opens (creating, appending to) path. 0, or -1 with aero_error set. */
int aero_appender_open(struct aero_appender **appender, const char *path);

/* Room for len more bytes at the end of the queue: where they go, or NULL
 * (out of memory, aero_error set). aero_appender_commit queues them. */
char *aero_appender_reserve(struct aero_appender *appender, size_t len);

/* The len bytes written at aero_appender_reserve's pointer join the queue. */
void aero_appender_commit(struct aero_appender *appender, size_t len);

/* Writes what is queued, in order, as far as the disk takes it. 0: all of it
 * is in the file; 1: some still waits (aero_appender_error says why). */
int aero_appender_flush(struct aero_appender *appender);

/* Starts writing what is queued, on a thread of the appender's own, and
 * returns: lines may be queued meanwhile. aero_appender_finish waits for
 * it, as do flush, write and close. Without a thread (or the memory for a
 * second buffer), it is written in place. */
void aero_appender_start(struct aero_appender *appender);

/* Waits for the write aero_appender_start began. 0: all of it is in the
 * file; 1: some waits at the head of the queue (aero_appender_error says
 * why). */
int aero_appender_finish(struct aero_appender *appender);

/* Whether the write aero_appender_start began is still going (finish
 * would wait for it). */
bool aero_appender_writing(const struct aero_appender *appender);

/* Writes len bytes of whole lines after what is queued, without copying them
 * when nothing is queued; what the disk does not take is queued. 0 or 1 as
 * aero_appender_flush; -1 out of memory (nothing queued, aero_error set). */
int aero_appender_write(struct aero_appender *appender, const char *data, size_t len);

/* Bytes queued, not yet in the file (those being written included). */
size_t aero_appender_queued(const struct aero_appender *appender);

/* The queue itself (aero_appender_queued bytes, while none are being
 * written), to report what it holds. */
const char *aero_appender_queue(const struct aero_appender *appender);

/* errno of the last write that failed; 0 once a flush has written everything. */
int aero_appender_error(const struct aero_appender *appender);

/* The file's descriptor (for sync_file_range and the like). */
int aero_appender_fd(const struct aero_appender *appender);

/* Flushes once more, syncs the file to disk and frees appender; returns the
 * bytes that could still not be written (they are lost). */
size_t aero_appender_close(struct aero_appender *appender);

/* How many lines (newlines) text holds, len bytes: rows or records queued. */
size_t aero_appender_lines(const char *text, size_t len);

#endif
