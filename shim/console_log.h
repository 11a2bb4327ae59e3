/* The run's output log, RUN_DIR/output.log: what the experiment wrote on
 * stdout and stderr, one time-stamped record per line. See doc/channel.md. */
#ifndef AERO_SHIM_CONSOLE_LOG_H
#define AERO_SHIM_CONSOLE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The streams, as they are named in records ("out", "err"). */
enum aero_console_stream { AERO_CONSOLE_OUT = 0, AERO_CONSOLE_ERR = 1 };

/* The longest text of one record, in bytes as written; a longer line is cut. */
#define AERO_CONSOLE_LINE_MAX ((size_t)64 * 1024)

/* How long a line may wait for its newline before what came is recorded. */
#define AERO_CONSOLE_PARTIAL_MS 1000

struct aero_console_log;

/* Opens (creating, appending to) run_dir/output.log. 0, or -1 with aero_error set. */
int aero_console_log_open(struct aero_console_log **log, const char *run_dir);

/* Takes len bytes that just arrived on stream: each complete line becomes a
 * record stamped now; the rest waits for its newline. */
void aero_console_log_add(struct aero_console_log *log, enum aero_console_stream stream,
                          const char *data, size_t len);

/* Milliseconds (CLOCK_MONOTONIC) at which a waiting partial line is due, or
 * records that wait for room are tried again; 0 when nothing waits. */
int64_t aero_console_log_due_ms(const struct aero_console_log *log);

/* Records, marked as continued, the partial lines that have waited long enough. */
void aero_console_log_expire(struct aero_console_log *log);

/* The stream has ended: records its partial line, if any, marked as continued. */
void aero_console_log_end(struct aero_console_log *log, enum aero_console_stream stream);

/* Writes the records built so far to the file with one write(2), after any
 * that wait for room on the disk. 0, or -1 when some wait (up to
 * AERO_DISKFULL_CONSOLE_MAX; more are given up, counted and reported). */
int aero_console_log_flush(struct aero_console_log *log);

/* Whether records wait for room on the disk. */
bool aero_console_log_waiting(const struct aero_console_log *log);

/* Ends both streams, writes everything, syncs the file to disk and frees log. */
void aero_console_log_close(struct aero_console_log *log);

#endif
