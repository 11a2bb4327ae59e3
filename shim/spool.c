#include "spool.h"

#include "canonjson.h"
#include "clock.h"
#include "error.h"
#include "file.h"
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct aero_spool {
	char *dir;
	int metrics_fd;      /* metrics.jsonl, append-only */
	long long last_step; /* the last row's step; -1 before the first */
	/* A step in decimal, right-aligned, kept so that the next one is counted
	 * up in place rather than divided out digit by digit for each row. */
	char digits[24];
	size_t digits_len; /* 0 before the first */
	long long digits_step;
	char *pending; /* rows queued since the last flush */
	size_t pending_len, pending_cap;
	/* `,"_timestamp":T,"_runtime":R` of those rows: read from the clock once
	 * for them all (they arrived together), empty after a flush. */
	char times[96];
	size_t times_len;
	double started;   /* CLOCK_MONOTONIC at open: _runtime follows no clock setting */
	cJSON *merged[3]; /* summary, config, run: kept whole, rewritten on change */
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
	char *metrics = path_in(spool, "metrics.jsonl");
	spool->metrics_fd = metrics != NULL
	                            ? open(metrics, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)
	                            : -1;
	if (spool->metrics_fd < 0) {
		if (metrics != NULL)
			aero_error_set("cannot open %s: %s", metrics, strerror(errno));
		free(metrics);
		aero_spool_close(spool);
		return -1;
	}
	free(metrics);
	for (int i = 0; i < 3; i++) {
		spool->merged[i] = cJSON_CreateObject();
		if (spool->merged[i] == NULL) {
			aero_spool_close(spool);
			return aero_error_set("out of memory");
		}
	}
	*out = spool;
	return 0;
}

/* Makes room for len more bytes in the queue of rows not yet written. */
static int reserve(struct aero_spool *spool, size_t len)
{
	if (spool->pending_len + len <= spool->pending_cap)
		return 0;
	size_t cap = spool->pending_cap ? spool->pending_cap : 65536;
	while (cap < spool->pending_len + len)
		cap *= 2;
	char *bigger = realloc(spool->pending, cap);
	if (bigger == NULL)
		return aero_error_set("out of memory");
	spool->pending = bigger;
	spool->pending_cap = cap;
	return 0;
}

static void append(struct aero_spool *spool, const char *text, size_t len)
{
	memcpy(spool->pending + spool->pending_len, text, len);
	spool->pending_len += len;
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
}

/* JSON's whitespace. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Writes n in decimal just before buf_end (20 bytes are room enough);
 * returns where it starts. */
static char *format_step(char *buf_end, unsigned long long n)
{
	char *p = buf_end;
	do {
		*--p = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	return p;
}

/* Sets spool->digits to step (from 0). */
static void set_digits(struct aero_spool *spool, long long step)
{
	char *const end = spool->digits + sizeof(spool->digits);
	if (spool->digits_len > 0 && step == spool->digits_step)
		return;
	if (spool->digits_len > 0 && step == spool->digits_step + 1) {
		char *p = end;
		while (p > end - spool->digits_len && p[-1] == '9')
			*--p = '0';
		if (p > end - spool->digits_len)
			p[-1]++;
		else
			*(end - ++spool->digits_len) = '1'; /* 99 + 1: one digit more */
	} else {
		spool->digits_len = (size_t)(end - format_step(end, (unsigned long long)step));
	}
	spool->digits_step = step;
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

	set_digits(spool, row_step);
	const size_t step_len = spool->digits_len;
	const char *step_text = spool->digits + sizeof(spool->digits) - step_len;
	const size_t inner_len = (size_t)(inner_end - inner);
	static const char head[] = "{\"_step\":";
	if (reserve(spool, sizeof(head) - 1 + step_len + spool->times_len + 1 + inner_len + 2) < 0)
		return -1;
	append(spool, head, sizeof(head) - 1);
	append(spool, step_text, step_len);
	append(spool, spool->times, spool->times_len);
	if (inner_len > 0) {
		append(spool, ",", 1);
		append(spool, inner, inner_len);
	}
	append(spool, "}\n", 2);
	spool->last_step = row_step;
	return 0;
}

int aero_spool_flush(struct aero_spool *spool)
{
	spool->times_len = 0; /* the next batch reads the clock again */
	if (spool->pending_len == 0)
		return 0;
	const int rc = aero_write_all(spool->metrics_fd, spool->pending, spool->pending_len) < 0
	                       ? aero_error_set("cannot write metrics.jsonl: %s", strerror(errno))
	                       : 0;
	spool->pending_len = 0;
	return rc;
}

int aero_spool_system(struct aero_spool *spool, cJSON *row)
{
	const double now = aero_clock_now_seconds();
	if (cJSON_AddNumberToObject(row, "_timestamp", now) == NULL ||
	    cJSON_AddNumberToObject(row, "_runtime", runtime_seconds(spool)) == NULL)
		return aero_error_set("out of memory");
	char *text = aero_json_canonical(row);
	if (text == NULL)
		return -1;
	char *path = path_in(spool, "system.jsonl");
	const int fd =
	        path != NULL ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
	int rc = fd >= 0 ? 0 : aero_error_set("cannot open system.jsonl: %s", strerror(errno));
	if (rc == 0) {
		const size_t len = strlen(text);
		text[len] = '\n'; /* one write, one line */
		if (aero_write_all(fd, text, len + 1) < 0)
			rc = aero_error_set("cannot write system.jsonl: %s", strerror(errno));
		close(fd);
	}
	free(path);
	free(text);
	return rc;
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
	char *text = aero_json_canonical(spool->merged[index]);
	char *path = text != NULL ? path_in(spool, file) : NULL;
	int rc = path != NULL ? 0 : -1;
	if (rc == 0) {
		const size_t len = strlen(text);
		char *line = realloc(text, len + 2);
		if (line == NULL) {
			rc = aero_error_set("out of memory");
		} else {
			text = line;
			memcpy(text + len, "\n", 2);
			rc = aero_file_write_atomic(path, text);
		}
	}
	free(path);
	free(text);
	return rc;
}

void aero_spool_close(struct aero_spool *spool)
{
	if (spool == NULL)
		return;
	if (spool->metrics_fd >= 0) {
		(void)aero_spool_flush(spool);
		(void)fsync(spool->metrics_fd);
		close(spool->metrics_fd);
	}
	for (int i = 0; i < 3; i++)
		cJSON_Delete(spool->merged[i]);
	free(spool->pending);
	free(spool->dir);
	free(spool);
}
