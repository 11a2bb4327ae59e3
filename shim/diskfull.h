/* What aero-init says while the run directory's disk cannot take its records
 * (full, or a quota reached): once when it starts, once when the records
 * waiting in memory reach their bound, once when it is over. The parts that
 * write (metrics, the merged files, system samples, the console log) each say
 * when they are stuck and when they are not. See doc/channel.md. */
#ifndef AERO_SHIM_DISKFULL_H
#define AERO_SHIM_DISKFULL_H

#include <stdbool.h>
#include <stddef.h>

/* How often what waits is tried again, CLOCK_MONOTONIC. */
#define AERO_DISKFULL_RETRY_MS 200

/* The most of the experiment's records (rows of metrics.jsonl) that wait in
 * memory: past it, the channel reads no more (backpressure). */
#define AERO_DISKFULL_RECORDS_MAX ((size_t)4 * 1024 * 1024)

/* The most of the experiment's output (records of output.log) that waits in
 * memory: past it, what comes is passed on but not recorded, and counted. */
#define AERO_DISKFULL_CONSOLE_MAX ((size_t)1024 * 1024)

enum aero_diskfull_part {
	AERO_DISKFULL_METRICS = 1,
	AERO_DISKFULL_MERGED = 2,
	AERO_DISKFULL_SYSTEM = 4,
	AERO_DISKFULL_CONSOLE = 8,
};

/* Names the run directory that the messages speak of (copied). */
void aero_diskfull_init(const char *run_dir);

/* A write of part's file failed with err, and held bytes wait in memory: the
 * first of a spell says so, and what to do. */
void aero_diskfull_hit(enum aero_diskfull_part part, const char *file, int err, size_t held);

/* Everything of part that waited is written; once no part waits, says that
 * the disk has room again. */
void aero_diskfull_cleared(enum aero_diskfull_part part);

/* The experiment's records waiting reached their bound: its writes block (said once a spell). */
void aero_diskfull_backpressure(size_t held);

/* Whether some part is waiting for room. */
bool aero_diskfull_waiting(void);

/* Formats a size for people ("412 bytes", "3.2 KiB", "4.0 MiB") into buf. */
const char *aero_diskfull_size(char *buf, size_t size, size_t bytes);

#endif
