#include "appender.h"

#include "bgwrite.h"
#include "error.h"
#include "file.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A queue that grew past this (it held a full disk's worth of lines) is
 * given back once it is empty again. */
#define QUEUE_KEEP ((size_t)1024 * 1024)
#define QUEUE_FIRST ((size_t)64 * 1024)

struct aero_appender {
	int fd;
	char *queue; /* lines not yet in the file, oldest first (after any flying) */
	size_t len, cap;
	int error; /* errno of the last failed write, 0 after a complete flush */
	/* aero_appender_start: the queue's lines go to the thread in a buffer of
	 * their own (this one, swapped with the queue), and the queue keeps room
	 * for them to come back to its head should the disk not take them all. */
	struct aero_bgwrite *bg; /* the thread, from the first start */
	char *flight;            /* the lines it is writing, flying bytes */
	size_t flying, flight_cap;
	int landed;      /* what the last write started came to (flush's 0 or 1) */
	bool threadless; /* no thread could be started: start writes in place */
};

int aero_appender_open(struct aero_appender **out, const char *path)
{
	struct aero_appender *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return aero_error_set("out of memory");
	a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (a->fd < 0) {
		aero_error_set("cannot open %s: %s", path, strerror(errno));
		free(a);
		return -1;
	}
	*out = a;
	return 0;
}

/* Makes the queue's room at least need bytes. */
static int grow(struct aero_appender *a, size_t need)
{
	if (need <= a->cap)
		return 0;
	size_t cap = a->cap > 0 ? a->cap : QUEUE_FIRST;
	while (cap < need)
		cap *= 2;
	char *bigger = realloc(a->queue, cap);
	if (bigger == NULL)
		return aero_error_set("out of memory");
	a->queue = bigger;
	a->cap = cap;
	return 0;
}

char *aero_appender_reserve(struct aero_appender *a, size_t len)
{
	if (len > SIZE_MAX / 2 - a->len - a->flying) {
		aero_error_set("out of memory");
		return NULL;
	}
	/* With room for the lines in flight too, should they come back. */
	return grow(a, a->len + len + a->flying) < 0 ? NULL : a->queue + a->len;
}

void aero_appender_commit(struct aero_appender *a, size_t len)
{
	a->len += len;
}

/* The errno of a write that stopped short: one that took nothing is taken
 * for a full disk. */
static int stopped_by(int error)
{
	return error != 0 ? error : ENOSPC;
}

/* Writes data as far as the disk takes it; how many bytes went, with
 * a->error set when not all of them did. */
static size_t write_some(struct aero_appender *a, const char *data, size_t len)
{
	int error = 0;
	const size_t done = aero_write_some(a->fd, data, len, &error);
	a->error = done == len ? 0 : stopped_by(error);
	return done;
}

/* A write stopped inside a line (a full disk takes what fits): the part of
 * that line that went is cut off the file again, so that no reader sees half
 * a line, and is written again with the rest of it. Returns how many of the
 * done bytes (of data) are whole lines in the file now. */
static size_t keep_whole_lines(struct aero_appender *a, const char *data, size_t done)
{
	size_t whole = done;
	while (whole > 0 && data[whole - 1] != '\n')
		whole--;
	if (whole == done)
		return done;
	struct stat st;
	const off_t torn = (off_t)(done - whole);
	if (fstat(a->fd, &st) == 0 && st.st_size >= torn &&
	    ftruncate(a->fd, st.st_size - torn) == 0)
		return whole;
	return done; /* the line stays torn until its rest is written */
}

/* Drops the first n bytes of the queue, and gives a big empty queue back. */
static void consume(struct aero_appender *a, size_t n)
{
	if (n < a->len)
		memmove(a->queue, a->queue + n, a->len - n);
	a->len -= n;
	if (a->len == 0 && a->cap > QUEUE_KEEP) {
		free(a->queue);
		a->queue = NULL;
		a->cap = 0;
	}
}

/* Waits for the write that aero_appender_start began; what it did not
 * write goes back to the head of the queue, before the lines queued since
 * (reserve kept room for it). */
static void land(struct aero_appender *a)
{
	int error = 0;
	const size_t done = aero_bgwrite_wait(a->bg, &error);
	a->error = done == a->flying ? 0 : stopped_by(error);
	const size_t kept = done == a->flying ? done : keep_whole_lines(a, a->flight, done);
	const size_t back = a->flying - kept;
	if (back > 0) {
		memmove(a->queue + back, a->queue, a->len);
		memcpy(a->queue, a->flight + kept, back);
		a->len += back;
	}
	a->landed = back > 0 ? 1 : 0;
	a->flying = 0;
}

void aero_appender_start(struct aero_appender *a)
{
	if (a->flying > 0)
		land(a);
	a->landed = 0;
	if (a->len == 0)
		return;
	if (a->bg == NULL && !a->threadless && aero_bgwrite_open(&a->bg) < 0) {
		aero_log_debug("no thread to write with (%s): writing in place", aero_error_last());
		a->threadless = true;
	}
	/* The lines fly in the queue's buffer, and the queue takes the other,
	 * which needs room for them should they come back. */
	if (a->bg != NULL && a->flight_cap < a->len) {
		free(a->flight);
		a->flight = malloc(a->cap);
		a->flight_cap = a->flight != NULL ? a->cap : 0;
	}
	if (a->bg == NULL || a->flight == NULL) {
		a->landed = aero_appender_flush(a);
		return;
	}
	char *const lines = a->queue;
	const size_t lines_cap = a->cap;
	a->queue = a->flight;
	a->cap = a->flight_cap;
	a->flight = lines;
	a->flight_cap = lines_cap;
	a->flying = a->len;
	a->len = 0;
	aero_bgwrite_start(a->bg, a->fd, a->flight, a->flying);
}

bool aero_appender_writing(const struct aero_appender *a)
{
	return a->flying > 0 && aero_bgwrite_busy(a->bg);
}

int aero_appender_finish(struct aero_appender *a)
{
	if (a->flying > 0)
		land(a);
	return a->landed;
}

int aero_appender_flush(struct aero_appender *a)
{
	if (a->flying > 0)
		land(a);
	if (a->len == 0) {
		a->error = 0;
		return 0;
	}
	const size_t done = write_some(a, a->queue, a->len);
	const size_t kept = done == a->len ? done : keep_whole_lines(a, a->queue, done);
	consume(a, kept);
	return a->len == 0 ? 0 : 1;
}

int aero_appender_write(struct aero_appender *a, const char *data, size_t len)
{
	if (a->flying > 0)
		land(a);
	if (len == 0)
		return aero_appender_flush(a);
	if (a->len == 0) {
		const size_t done = write_some(a, data, len);
		if (done == len)
			return 0;
		const size_t kept = keep_whole_lines(a, data, done);
		data += kept;
		len -= kept;
	}
	char *room = aero_appender_reserve(a, len);
	if (room == NULL)
		return -1;
	memcpy(room, data, len);
	aero_appender_commit(a, len);
	return aero_appender_flush(a);
}

size_t aero_appender_queued(const struct aero_appender *a)
{
	return a->len + a->flying;
}

const char *aero_appender_queue(const struct aero_appender *a)
{
	return a->queue;
}

int aero_appender_error(const struct aero_appender *a)
{
	return a->error;
}

int aero_appender_fd(const struct aero_appender *a)
{
	return a->fd;
}

size_t aero_appender_close(struct aero_appender *a)
{
	if (a == NULL)
		return 0;
	(void)aero_appender_flush(a);
	aero_bgwrite_close(a->bg);
	const size_t lost = a->len;
	(void)fsync(a->fd);
	close(a->fd);
	free(a->queue);
	free(a->flight);
	free(a);
	return lost;
}

size_t aero_appender_lines(const char *text, size_t len)
{
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	return lines;
}
