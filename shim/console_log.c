#include "console_log.h"

#include "appender.h"
#include "clock.h"
#include "diskfull.h"
#include "error.h"
#include "log.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Records are built here and written once this much is waiting, or at each
 * flush; room for the longest record (every byte replaced) and then some. */
#define BATCH_SIZE ((size_t)256 * 1024)

/* Once this much has been written since, the disk is asked to start writing
 * it out, so that the sync at the end has little left to wait for. */
#define WRITEBACK_EVERY ((size_t)8 * 1024 * 1024)

/* A record's head: time stamp, space, stream and its mark, space. */
#define HEAD_MAX (AERO_UTC_SIZE + 6)

/* The streams as records name them (not strings: no NUL is copied). */
static const char stream_names[2][3] = {{'o', 'u', 't'}, {'e', 'r', 'r'}};

/* A line still waiting for its newline. */
struct partial {
	char *text; /* AERO_CONSOLE_LINE_MAX bytes */
	size_t len;
	int64_t since_ms; /* CLOCK_MONOTONIC when its first byte came */
};

struct aero_console_log {
	struct aero_appender *file; /* output.log; its queue: records the disk had no room for */
	char *batch;                /* records not yet written */
	size_t batch_len;
	struct partial partial[2];
	char stamp[AERO_UTC_SIZE]; /* the time stamp of the bytes being handled */
	size_t stamp_len;          /* 0 until the clock is read for them */
	size_t unsynced;           /* bytes written since the last writeback was started */
	int64_t retry_ms;          /* CLOCK_MONOTONIC: when the queue is tried again; 0: empty */
	/* Records given up while the disk had no room (the queue was full), since
	 * that was last said, and in all. */
	size_t dropped, dropped_bytes;
};

int aero_console_log_open(struct aero_console_log **out, const char *run_dir)
{
	struct aero_console_log *log = calloc(1, sizeof(*log));
	const size_t path_len = strlen(run_dir) + sizeof("/output.log");
	char *path = malloc(path_len);
	if (log == NULL || path == NULL) {
		free(log);
		free(path);
		return aero_error_set("out of memory");
	}
	log->batch = malloc(BATCH_SIZE);
	for (int i = 0; i < 2; i++)
		log->partial[i].text = malloc(AERO_CONSOLE_LINE_MAX);
	if (log->batch == NULL || log->partial[0].text == NULL || log->partial[1].text == NULL) {
		free(path);
		aero_console_log_close(log);
		return aero_error_set("out of memory");
	}
	(void)snprintf(path, path_len, "%s/output.log", run_dir);
	const int opened = aero_appender_open(&log->file, path);
	free(path);
	if (opened < 0) {
		aero_console_log_close(log);
		return -1;
	}
	*out = log;
	return 0;
}

/* The batch cannot wait with the records before it (they fill the queue):
 * its records are given up and counted. The experiment's output was passed
 * on all the same, and none of it was ever acknowledged. */
static void drop_batch(struct aero_console_log *log)
{
	log->dropped += aero_appender_lines(log->batch, log->batch_len);
	log->dropped_bytes += log->batch_len;
}

/* The disk has room again: says how much of the output was given up meanwhile. */
static void report_dropped(struct aero_console_log *log)
{
	if (log->dropped == 0)
		return;
	char amount[32];
	aero_log_warn("%zu lines of the experiment's output (%s) were passed on but not recorded "
	              "in output.log: the disk had no room, and %zu MiB of its output waited "
	              "already",
	              log->dropped, aero_diskfull_size(amount, sizeof(amount), log->dropped_bytes),
	              AERO_DISKFULL_CONSOLE_MAX >> 20);
	log->dropped = log->dropped_bytes = 0;
}

int aero_console_log_flush(struct aero_console_log *log)
{
	const size_t queued = aero_appender_queued(log->file);
	if (log->batch_len == 0 && queued == 0)
		return 0;
	int rc = queued > 0 ? aero_appender_flush(log->file) : 0;
	if (log->batch_len > 0) {
		/* Records wait, in order, up to a bound; past it they are given up. */
		if (rc != 0 &&
		    aero_appender_queued(log->file) + log->batch_len > AERO_DISKFULL_CONSOLE_MAX) {
			drop_batch(log);
		} else {
			rc = aero_appender_write(log->file, log->batch, log->batch_len);
			if (rc < 0)
				drop_batch(log); /* out of memory to keep it */
		}
		log->unsynced += log->batch_len;
		log->batch_len = 0;
	}
	if (rc != 0) {
		aero_diskfull_hit(AERO_DISKFULL_CONSOLE, "output.log",
		                  aero_appender_error(log->file), aero_appender_queued(log->file));
		const int64_t now = aero_clock_monotonic_ms();
		if (log->retry_ms == 0 || now >= log->retry_ms)
			log->retry_ms = now + AERO_DISKFULL_RETRY_MS;
		return -1;
	}
	log->retry_ms = 0;
	aero_diskfull_cleared(AERO_DISKFULL_CONSOLE);
	report_dropped(log);
	if (log->unsynced >= WRITEBACK_EVERY) {
		/* Starts writing out what is dirty, without waiting for it. */
		(void)sync_file_range(aero_appender_fd(log->file), 0, 0, SYNC_FILE_RANGE_WRITE);
		log->unsynced = 0;
	}
	return 0;
}

/* Appends one record: time stamp, stream ("out+" when the text goes on in the
 * stream's next record), the text as valid UTF-8, newline. plain: the text is
 * known to be plain ASCII, to be copied as it is. */
static void emit(struct aero_console_log *log, enum aero_console_stream stream, const char *text,
                 size_t len, bool continued, bool plain)
{
	if (log->batch_len + HEAD_MAX + (plain ? len : AERO_UTF8_SANITIZED_MAX(len)) + 1 >
	    BATCH_SIZE)
		(void)aero_console_log_flush(log);
	if (log->stamp_len == 0) /* one clock read for all the bytes of one read(2) */
		log->stamp_len = aero_clock_utc_us_now(log->stamp);
	char *p = log->batch + log->batch_len;
	memcpy(p, log->stamp, log->stamp_len);
	p += log->stamp_len;
	*p++ = ' ';
	memcpy(p, stream_names[stream], sizeof(stream_names[stream]));
	p += sizeof(stream_names[stream]);
	if (continued)
		*p++ = '+';
	*p++ = ' ';
	if (plain) {
		memcpy(p, text, len);
		p += len;
	} else {
		p += aero_utf8_sanitize(p, text, len);
	}
	*p++ = '\n';
	log->batch_len = (size_t)(p - log->batch);
}

/* A complete line: one record, or several when it is longer than a record may
 * be, cut so that no character is split. */
static void emit_line(struct aero_console_log *log, enum aero_console_stream stream,
                      const char *text, size_t len, bool plain)
{
	while (len > AERO_CONSOLE_LINE_MAX) {
		const size_t cut = AERO_CONSOLE_LINE_MAX -
		                   aero_utf8_incomplete_tail(text, AERO_CONSOLE_LINE_MAX);
		emit(log, stream, text, cut, true, plain);
		text += cut;
		len -= cut;
	}
	emit(log, stream, text, len, false, plain);
}

/* The partial line is full and more of it follows: record what it holds,
 * keeping a character that the next bytes complete for the next record. */
static void cut_partial(struct aero_console_log *log, enum aero_console_stream stream)
{
	struct partial *p = &log->partial[stream];
	const size_t keep = aero_utf8_incomplete_tail(p->text, p->len);
	emit(log, stream, p->text, p->len - keep, true, false);
	memmove(p->text, p->text + p->len - keep, keep);
	p->len = keep;
	p->since_ms = aero_clock_monotonic_ms();
}

/* Adds bytes without a newline to the stream's partial line. */
static void hold(struct aero_console_log *log, enum aero_console_stream stream, const char *data,
                 size_t len)
{
	struct partial *p = &log->partial[stream];
	if (p->len == 0 && len > 0)
		p->since_ms = aero_clock_monotonic_ms();
	while (len > 0) {
		if (p->len == AERO_CONSOLE_LINE_MAX)
			cut_partial(log, stream);
		const size_t room = AERO_CONSOLE_LINE_MAX - p->len;
		const size_t take = len < room ? len : room;
		memcpy(p->text + p->len, data, take);
		p->len += take;
		data += take;
		len -= take;
	}
}

void aero_console_log_add(struct aero_console_log *log, enum aero_console_stream stream,
                          const char *data, size_t len)
{
	struct partial *p = &log->partial[stream];
	const bool plain = aero_utf8_is_plain(data, len); /* the common case, tested at once */
	log->stamp_len = 0;
	while (len > 0) {
		const char *newline = memchr(data, '\n', len);
		if (newline == NULL) {
			hold(log, stream, data, len);
			return;
		}
		const size_t line = (size_t)(newline - data);
		if (p->len == 0) {
			emit_line(log, stream, data, line, plain);
		} else {
			hold(log, stream, data, line);
			emit(log, stream, p->text, p->len, false, false);
			p->len = 0;
		}
		data += line + 1;
		len -= line + 1;
	}
}

int64_t aero_console_log_due_ms(const struct aero_console_log *log)
{
	int64_t due = log->retry_ms;
	for (int i = 0; i < 2; i++) {
		const struct partial *p = &log->partial[i];
		if (p->len > 0 && (due == 0 || p->since_ms + AERO_CONSOLE_PARTIAL_MS < due))
			due = p->since_ms + AERO_CONSOLE_PARTIAL_MS;
	}
	return due;
}

void aero_console_log_expire(struct aero_console_log *log)
{
	const int64_t due = aero_console_log_due_ms(log);
	if (due == 0)
		return;
	const int64_t now = aero_clock_monotonic_ms();
	log->stamp_len = 0;
	for (int i = 0; i < 2; i++) {
		struct partial *p = &log->partial[i];
		if (p->len > 0 && now >= p->since_ms + AERO_CONSOLE_PARTIAL_MS) {
			emit(log, (enum aero_console_stream)i, p->text, p->len, true, false);
			p->len = 0;
		}
	}
}

bool aero_console_log_waiting(const struct aero_console_log *log)
{
	return aero_appender_queued(log->file) > 0;
}

void aero_console_log_end(struct aero_console_log *log, enum aero_console_stream stream)
{
	struct partial *p = &log->partial[stream];
	if (p->len == 0)
		return;
	log->stamp_len = 0;
	emit(log, stream, p->text, p->len, true, false);
	p->len = 0;
}

void aero_console_log_close(struct aero_console_log *log)
{
	if (log == NULL)
		return;
	if (log->file != NULL) {
		aero_console_log_end(log, AERO_CONSOLE_OUT);
		aero_console_log_end(log, AERO_CONSOLE_ERR);
		(void)aero_console_log_flush(log);
		const size_t unwritten = aero_appender_lines(aero_appender_queue(log->file),
		                                             aero_appender_queued(log->file));
		if (unwritten + log->dropped > 0)
			aero_log_warn(
			        "%zu lines of the experiment's output were passed on but could "
			        "not be recorded in output.log: the disk had no room",
			        unwritten + log->dropped);
		if (fsync(aero_appender_fd(log->file)) < 0)
			aero_log_warn("cannot sync output.log to disk: %s", strerror(errno));
		(void)aero_appender_close(log->file);
	}
	for (int i = 0; i < 2; i++)
		free(log->partial[i].text);
	free(log->batch);
	free(log);
}
