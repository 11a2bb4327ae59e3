#include "spool.h"

#include "appender.h"
#include "canonjson.h"
#include "clock.h"
#include "diskfull.h"
#include "error.h"
#include "file.h"
#include "files.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* System samples that wait for room: about an hour's worth at the default
 * interval; past it, samples are skipped (and counted). */
#define SYSTEM_WAIT_MAX ((size_t)64 * 1024)

struct aero_spool {
	char *dir;
	/* metrics.jsonl, append-only: its queue holds the rows of the batch being
	 * read, then those the disk had no room for, in order. */
	struct aero_appender *metrics;
	struct aero_appender *system; /* system.jsonl, from the first sample */
	unsigned long system_skipped; /* samples not kept: too many waited */
	long long last_step;          /* the last row's step; -1 before the first */
	/* `,"_timestamp":T,"_runtime":R` of the rows of a batch: read from the
	 * clock once for them all (they arrived together), empty after a flush. */
	char times[96];
	size_t times_len;
	/* `{"_step":S` and the times: the start of the last row, kept so that
	 * the next one copies it whole, with S counted up in place rather than
	 * divided out digit by digit for each row. */
	char row_head[128];
	size_t row_head_len; /* 0: to be made again (a new batch) */
	size_t digits_len;   /* S's */
	long long head_step;
	double started;   /* CLOCK_MONOTONIC at open: _runtime follows no clock setting */
	cJSON *merged[3]; /* summary, config, run: kept whole, rewritten on change */
	bool dirty[3];    /* changed, and not yet written: the disk had no room */
	int64_t retry_ms; /* CLOCK_MONOTONIC when what waits is tried again; 0: nothing waits */
};

static const char *const merged_files[3] = {"summary.json", "config.json", "run.json"};

static char *path_in(const struct aero_spool *spool, const char *file)
{
	const size_t len = strlen(spool->dir) + strlen(file) + 2;
	char *path = malloc(len);
	if (path == NULL)
		aero_error_set("out of memory");
	else
		(void)snprintf(path, len, "%s/%s", spool->dir, file);
	return path;
}

int aero_spool_open(struct aero_spool **out, const char *run_dir)
{
	struct aero_spool *spool = calloc(1, sizeof(*spool));
	if (spool == NULL || (spool->dir = strdup(run_dir)) == NULL) {
		free(spool);
		return aero_error_set("out of memory");
	}
	spool->started = aero_clock_monotonic_seconds();
	spool->last_step = -1;
	aero_diskfull_init(run_dir);
	char *metrics = path_in(spool, "metrics.jsonl");
	if (metrics == NULL || aero_appender_open(&spool->metrics, metrics) < 0) {
		free(metrics);
		(void)aero_spool_close(spool);
		return -1;
	}
	free(metrics);
	for (int i = 0; i < 3; i++) {
		spool->merged[i] = cJSON_CreateObject();
		if (spool->merged[i] == NULL) {
			(void)aero_spool_close(spool);
			return aero_error_set("out of memory");
		}
	}
	*out = spool;
	return 0;
}

/* Seconds with microseconds, formatted without floating-point printf. */
static int format_seconds(char *buf, size_t size, const char *name, double seconds)
{
	const long long micros = (long long)(seconds * 1e6 + 0.5);
	return snprintf(buf, size, ",\"%s\":%lld.%06lld", name, micros / 1000000, micros % 1000000);
}

/* Seconds since the spool was opened, by the clock that no one sets: the
 * wall clock set back or forward moves _timestamp, not _runtime. */
static double runtime_seconds(const struct aero_spool *spool)
{
	return aero_clock_monotonic_seconds() - spool->started;
}

/* Reads the clocks for the rows of this batch, once. */
static void stamp_batch(struct aero_spool *spool)
{
	const double now = aero_clock_now_seconds();
	const double runtime = runtime_seconds(spool);
	const size_t room = sizeof(spool->times);
	spool->times_len = 0;
	const int a = format_seconds(spool->times, room, "_timestamp", now);
	if (a < 0 || (size_t)a >= room)
		return;
	const int b = format_seconds(spool->times + a, room - (size_t)a, "_runtime", runtime);
	if (b >= 0 && (size_t)b < room - (size_t)a)
		spool->times_len = (size_t)a + (size_t)b;
	spool->row_head_len = 0;
}

/* JSON's whitespace. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static const char step_key[] = "{\"_step\":";
#define STEP_AT (sizeof(step_key) - 1)

/* Makes spool->row_head anew for step: a new batch's times, or one digit
 * more. Not inlined: the usual row only counts up in place. */
static __attribute__((noinline)) void make_row_head(struct aero_spool *spool, long long step)
{
	char text[24];
	char *const end = text + sizeof(text);
	char *first = end;
	unsigned long long n = (unsigned long long)step;
	do {
		*--first = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	char *const digits = spool->row_head + STEP_AT;
	spool->digits_len = (size_t)(end - first);
	memcpy(spool->row_head, step_key, STEP_AT);
	memcpy(digits, first, spool->digits_len);
	memcpy(digits + spool->digits_len, spool->times, spool->times_len);
	spool->row_head_len = STEP_AT + spool->digits_len + spool->times_len;
	spool->head_step = step;
}

/* Sets spool->row_head to the start of a row of step (from 0). */
static inline void set_row_head(struct aero_spool *spool, long long step)
{
	if (spool->row_head_len > 0 && step == spool->head_step)
		return;
	if (spool->row_head_len > 0 && step == spool->head_step + 1) {
		char *const digits = spool->row_head + STEP_AT;
		char *p = digits + spool->digits_len;
		while (p > digits && p[-1] == '9')
			*--p = '0';
		if (p > digits) {
			p[-1]++;
			spool->head_step = step;
			return;
		}
		/* 99 + 1: one digit more, so the times move. */
	}
	make_row_head(spool, step);
}

int aero_spool_log(struct aero_spool *spool, const char *data, size_t len, long long step)
{
	/* Without a step a row gets the next one; with one, steps never go back
	 * (rows of one step may repeat: trackers merge them). */
	const long long row_step = step == AERO_SPOOL_NEXT_STEP ? spool->last_step + 1 : step;
	if (row_step < 0)
		return aero_error_set("step must be a whole number from 0");
	if (row_step < spool->last_step)
		return aero_error_set("step %lld comes before step %lld, logged already", row_step,
		                      spool->last_step);
	if (len < 2 || data[0] != '{' || data[len - 1] != '}')
		return aero_error_set("\"data\" must be an object");
	/* The object's members, without its braces and surrounding blanks. */
	const char *inner = data + 1, *inner_end = data + len - 1;
	while (inner < inner_end && is_blank(*inner))
		inner++;
	while (inner_end > inner && is_blank(inner_end[-1]))
		inner_end--;
	if (spool->times_len == 0)
		stamp_batch(spool);
	if (spool->times_len == 0)
		return aero_error_set("cannot format the time");

	set_row_head(spool, row_step);
	const size_t inner_len = (size_t)(inner_end - inner);
	const size_t row_len = spool->row_head_len + 1 + inner_len + 2;
	char *row = aero_appender_reserve(spool->metrics, row_len);
	if (row == NULL)
		return -1;
	char *p = row;
	memcpy(p, spool->row_head, spool->row_head_len);
	p += spool->row_head_len;
	if (inner_len > 0) {
		*p++ = ',';
		memcpy(p, inner, inner_len);
		p += inner_len;
	}
	*p++ = '}';
	*p++ = '\n';
	aero_appender_commit(spool->metrics, (size_t)(p - row));
	spool->last_step = row_step;
	return 0;
}
/* Writes a merged file from its values. 0, or -1 with aero_error set and
 * errno saying why (ENOMEM: out of memory, anything else: the write). */
static int write_merged(struct aero_spool *spool, int index)
{
	char *text = aero_json_canonical(spool->merged[index]);
	const size_t len = text != NULL ? strlen(text) : 0;
	char *line = text != NULL ? realloc(text, len + 2) : NULL;
	char *path = line != NULL ? path_in(spool, merged_files[index]) : NULL;
	if (path == NULL) {
		free(line != NULL ? line : text);
		errno = ENOMEM;
		return aero_error_set("out of memory");
	}
	memcpy(line + len, "\n", 2);
	const int rc = aero_file_write_atomic(path, line);
	const int err = errno;
	free(path);
	free(line);
	errno = err;
	return rc;
}

/* No merged file waits any more: says so when none does. */
static void note_merged_written(const struct aero_spool *spool)
{
	if (!spool->dirty[0] && !spool->dirty[1] && !spool->dirty[2])
		aero_diskfull_cleared(AERO_DISKFULL_MERGED);
}

/* Writes the merged files that changed while the disk had no room. */
static void write_dirty(struct aero_spool *spool)
{
	for (int i = 0; i < 3; i++)
		if (spool->dirty[i] && write_merged(spool, i) == 0)
			spool->dirty[i] = false;
	note_merged_written(spool);
}

/* Writes the system samples that waited. */
static void write_system(struct aero_spool *spool)
{
	if (spool->system != NULL && aero_appender_flush(spool->system) == 0)
		aero_diskfull_cleared(AERO_DISKFULL_SYSTEM);
}

/* Whether rows wait for room: the last write of them failed. (Rows queued
 * while others are being written wait for nothing.) */
static bool rows_wait(const struct aero_spool *spool)
{
	return aero_appender_error(spool->metrics) != 0 && aero_appender_queued(spool->metrics) > 0;
}

/* Whether anything waits for room; arms the retry timer when something
 * does, without pushing back one that is armed already. */
static bool waiting(struct aero_spool *spool)
{
	bool any = rows_wait(spool) ||
	           (spool->system != NULL && aero_appender_queued(spool->system) > 0);
	for (int i = 0; i < 3; i++)
		any |= spool->dirty[i];
	if (!any)
		spool->retry_ms = 0;
	else if (spool->retry_ms == 0)
		spool->retry_ms = aero_clock_monotonic_ms() + AERO_DISKFULL_RETRY_MS;
	return any;
}

/* Notes whether the rows written last (flush's 0 or 1) all went. */
static void rows_written(const struct aero_spool *spool, int left)
{
	if (left == 0)
		aero_diskfull_cleared(AERO_DISKFULL_METRICS);
	else
		aero_diskfull_hit(AERO_DISKFULL_METRICS, "metrics.jsonl",
		                  aero_appender_error(spool->metrics),
		                  aero_appender_queued(spool->metrics));
}

/* Writes the queued rows, after those that waited, in one write(2). */
static void write_rows(struct aero_spool *spool)
{
	rows_written(spool, aero_appender_flush(spool->metrics));
}

/* A batch's rows are all queued, before they are written: the next batch
 * reads the clock again, and when the rows waiting for room have reached
 * their bound, that is said. */
static void end_batch(struct aero_spool *spool)
{
	spool->times_len = 0;
	if (aero_spool_full(spool))
		aero_diskfull_backpressure(aero_appender_queued(spool->metrics));
}

int aero_spool_flush(struct aero_spool *spool)
{
	end_batch(spool);
	write_rows(spool);
	return waiting(spool) ? 1 : 0;
}

void aero_spool_start(struct aero_spool *spool)
{
	end_batch(spool);
	aero_appender_start(spool->metrics);
}

bool aero_spool_writing(const struct aero_spool *spool)
{
	return aero_appender_writing(spool->metrics);
}

int aero_spool_finish(struct aero_spool *spool)
{
	rows_written(spool, aero_appender_finish(spool->metrics));
	return waiting(spool) ? 1 : 0;
}

bool aero_spool_full(const struct aero_spool *spool)
{
	return aero_appender_queued(spool->metrics) >= AERO_DISKFULL_RECORDS_MAX;
}

int64_t aero_spool_retry_ms(const struct aero_spool *spool)
{
	return spool->retry_ms;
}

int aero_spool_retry(struct aero_spool *spool)
{
	if (spool->retry_ms == 0)
		return 0;
	if (aero_clock_monotonic_ms() < spool->retry_ms)
		return 1;
	spool->retry_ms = 0;
	write_rows(spool);
	write_dirty(spool);
	write_system(spool);
	return waiting(spool) ? 1 : 0;
}

int aero_spool_system(struct aero_spool *spool, cJSON *row)
{
	const double now = aero_clock_now_seconds();
	if (cJSON_AddNumberToObject(row, "_timestamp", now) == NULL ||
	    cJSON_AddNumberToObject(row, "_runtime", runtime_seconds(spool)) == NULL)
		return aero_error_set("out of memory");
	if (spool->system == NULL) {
		char *path = path_in(spool, "system.jsonl");
		const int rc = path != NULL ? aero_appender_open(&spool->system, path) : -1;
		free(path);
		if (rc < 0)
			return -1;
	}
	if (aero_appender_queued(spool->system) >= SYSTEM_WAIT_MAX) {
		spool->system_skipped++; /* nobody waits for a sample: skip it rather than block */
		return 0;
	}
	char *text = aero_json_canonical(row);
	if (text == NULL)
		return -1;
	const size_t len = strlen(text);
	text[len] = '\n'; /* one write, one line */
	const int rc = aero_appender_write(spool->system, text, len + 1);
	free(text);
	if (rc > 0) {
		aero_diskfull_hit(AERO_DISKFULL_SYSTEM, "system.jsonl",
		                  aero_appender_error(spool->system),
		                  aero_appender_queued(spool->system));
		(void)waiting(spool);
	} else if (rc == 0) {
		aero_diskfull_cleared(AERO_DISKFULL_SYSTEM);
	}
	return rc < 0 ? -1 : 0;
}

int aero_spool_merge(struct aero_spool *spool, const char *file, const cJSON *data)
{
	int index = -1;
	for (int i = 0; i < 3; i++)
		if (strcmp(file, merged_files[i]) == 0)
			index = i;
	if (index < 0)
		return aero_error_set("no such record file: %s", file);
	const cJSON *item;
	cJSON_ArrayForEach(item, data)
	{
		cJSON *copy = cJSON_Duplicate(item, 1);
		if (copy == NULL)
			return aero_error_set("out of memory");
		cJSON_DeleteItemFromObjectCaseSensitive(spool->merged[index], item->string);
		if (!cJSON_AddItemToObject(spool->merged[index], item->string, copy)) {
			cJSON_Delete(copy);
			return aero_error_set("out of memory");
		}
	}
	/* A file that cannot be written now keeps its previous version and is
	 * written, with every change since, once there is room; whoever sent the
	 * change is not told it is recorded until then. */
	if (write_merged(spool, index) < 0) {
		if (errno == ENOMEM)
			return -1;
		spool->dirty[index] = true;
		aero_diskfull_hit(AERO_DISKFULL_MERGED, file, errno, 0);
		(void)waiting(spool);
		return 0;
	}
	spool->dirty[index] = false;
	note_merged_written(spool);
	return 0;
}

/* The step of the row that rows (len bytes) start with, or -1. */
static long long first_step(const char *rows, size_t len)
{
	static const char head[] = "{\"_step\":";
	if (len < sizeof(head) || memcmp(rows, head, sizeof(head) - 1) != 0)
		return -1;
	long long step = 0;
	for (size_t i = sizeof(head) - 1; i < len && rows[i] >= '0' && rows[i] <= '9'; i++)
		step = step * 10 + (rows[i] - '0'); /* at most 9e15, a row's step */
	return step;
}

/* Says which records could not be written in the end; whether any. */
static bool report_unwritten(const struct aero_spool *spool, const char *rows, size_t rows_len)
{
	char what[512] = "";
	size_t used = 0;
	const size_t count = aero_appender_lines(rows, rows_len);
	if (count > 0) {
		const long long first = first_step(rows, rows_len);
		int n;
		if (first < 0)
			n = snprintf(what, sizeof(what), "%zu rows of metrics.jsonl", count);
		else if (count == 1)
			n = snprintf(what, sizeof(what), "1 row of metrics.jsonl (step %lld)",
			             first);
		else
			n = snprintf(what, sizeof(what),
			             "%zu rows of metrics.jsonl (steps %lld to %lld)", count, first,
			             spool->last_step);
		used = n > 0 ? (size_t)n : 0;
	}
	static const char *const changes[3] = {"the latest summary.json", "the latest config.json",
	                                       "the latest run.json (tags, notes, the outcome)"};
	for (int i = 0; i < 3; i++) {
		if (!spool->dirty[i] || used >= sizeof(what))
			continue;
		const int n = snprintf(what + used, sizeof(what) - used, "%s%s",
		                       used > 0 ? ", " : "", changes[i]);
		used += n > 0 ? (size_t)n : 0;
	}
	if (used == 0)
		return false;
	aero_log_error("could not write to the run directory %s, whose disk has no room: %s; "
	               "none of these was acknowledged, so everything the experiment was told is "
	               "recorded is on disk",
	               spool->dir, what);
	return true;
}

int aero_spool_close(struct aero_spool *spool)
{
	if (spool == NULL)
		return 0;
	bool unwritten = false;
	if (spool->metrics != NULL) {
		spool->retry_ms = 1; /* a last try of everything that waits, now */
		(void)aero_spool_retry(spool);
		unwritten = report_unwritten(spool, aero_appender_queue(spool->metrics),
		                             aero_appender_queued(spool->metrics));
		(void)aero_appender_close(spool->metrics);
	}
	if (spool->system != NULL) {
		const size_t samples = aero_appender_lines(aero_appender_queue(spool->system),
		                                           aero_appender_queued(spool->system)) +
		                       spool->system_skipped;
		if (samples > 0)
			aero_log_warn(
			        "%zu system samples could not be written to system.jsonl: the "
			        "disk under %s had no room",
			        samples, spool->dir);
		(void)aero_appender_close(spool->system);
	}
	for (int i = 0; i < 3; i++)
		cJSON_Delete(spool->merged[i]);
	free(spool->dir);
	free(spool);
	return unwritten ? 1 : 0;
}
