/* The console tee: with a run directory, the experiment's stdout and stderr
 * (each unless it is a terminal) are pipes that aero-init reads, passes
 * through unchanged to its own stdout and stderr, and records in output.log.
 * See doc/channel.md. */
#ifndef AERO_SHIM_CONSOLE_H
#define AERO_SHIM_CONSOLE_H

#include "experiment_spawn.h"

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How many pollfd entries aero_console_poll_fds fills. */
#define AERO_CONSOLE_POLL_FDS 4

struct aero_console;

/* Makes a pipe for each of stdout and stderr that is open and not a terminal,
 * and opens run_dir/output.log. *console is NULL when neither is captured.
 * 0, or -1 with aero_error set. */
int aero_console_open(struct aero_console **console, const char *run_dir);

/* The descriptors the experiment gets as stdout and stderr (-1: aero-init's own). */
struct aero_spawn_stdio aero_console_stdio(const struct aero_console *console);

/* The experiment has started: closes aero-init's copies of the pipes' write ends. */
void aero_console_started(struct aero_console *console);

/* Fills fds[0 .. AERO_CONSOLE_POLL_FDS) with what the console waits on (fd -1 for nothing). */
size_t aero_console_poll_fds(const struct aero_console *console, struct pollfd *fds);

/* Serves what poll() reported in fds, as filled by aero_console_poll_fds, and
 * writes the new records. */
void aero_console_dispatch(struct aero_console *console, const struct pollfd *fds);

/* Records the partial lines that have waited long enough for their newline. */
void aero_console_expire(struct aero_console *console);

/* CLOCK_MONOTONIC milliseconds at which aero_console_expire has work (a
 * partial line to record, records that wait for room on the disk to try
 * again), or 0 for never. */
int64_t aero_console_due_ms(const struct aero_console *console);

/* Whether records of output.log wait for room on the disk. */
bool aero_console_waiting(const struct aero_console *console);

/* At the end of the run: passes through and records what is left in the
 * pipes until their writers are gone, as long as the reader of aero-init's
 * output keeps taking it; gives up after patience_ms without progress. */
void aero_console_finish(struct aero_console *console, long patience_ms);

/* Records what is still readable (without passing it through), then the partial
 * lines, syncs output.log to disk and frees console. */
void aero_console_close(struct aero_console *console);

#endif
