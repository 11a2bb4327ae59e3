/* The console tee. For each captured stream the experiment writes into a pipe
 * of ours; aero-init passes the bytes on to its own stream and records them.
 *
 * Passing through must never hold up the supervisor's loop: when aero-init's
 * own stream cannot take more (a slow reader), the experiment's pipe is not
 * read until it can, so the experiment blocks as it would without aero-init,
 * while signals and the metric channel are served as usual. When aero-init's
 * stream is a pipe (docker, kubectl, a shell pipeline), tee(2) with
 * SPLICE_F_NONBLOCK duplicates the bytes into it without copying them and
 * without blocking, and without changing the flags of a file description
 * that others may share. Anything else (a file, a socket) gets the bytes
 * written from a bounded backlog, a socket with MSG_DONTWAIT. */
#include "console.h"

#include "clock.h"
#include "console_log.h"
#include "error.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* The most one read(2) takes from a stream, and the most a backlog holds. */
#define CHUNK ((size_t)256 * 1024)

/* The most one tee(2) passes through, read back in CHUNKs. */
#define TEE_MAX ((size_t)1024 * 1024)

/* The experiment's pipes get this much room (the most an unprivileged process
 * may ask for by default), so that it seldom waits for aero-init; so does the
 * pipe aero-init's own stream is (grow_pipe). */
#define PIPE_SIZE ((size_t)1024 * 1024)

enum pass_mode {
	PASS_TEE,  /* aero-init's stream is a pipe: tee(2) into it */
	PASS_COPY, /* anything else: write what was read */
	PASS_OFF,  /* it cannot take more (its reader is gone): record only */
};

struct stream {
	enum aero_console_stream name;
	int src;       /* read end of the experiment's pipe; -1 when not captured or ended */
	int child_end; /* write end, until the experiment has it */
	int dst;       /* aero-init's own STDOUT_FILENO or STDERR_FILENO */
	enum pass_mode pass;
	bool socket;   /* copy: dst is a socket, sent to without blocking */
	bool fifo;     /* copy: dst is a pipe that tee(2) refused; at most PIPE_BUF a write */
	bool dst_full; /* tee: src is not read until dst has room */
	char *buffer;  /* CHUNK bytes; in copy mode also the backlog */
	size_t backlog_start, backlog_end;
};

struct aero_console {
	struct stream streams[2];
	struct aero_console_log *log;
};

static const char *stream_name(const struct stream *s)
{
	return s->name == AERO_CONSOLE_OUT ? "output" : "error";
}

/* A descriptor of the pipe, moved above 2 so that dup2() onto stdout or
 * stderr in the child always makes a new one (and clears close-on-exec). */
static int above_stdio(int fd)
{
	if (fd > STDERR_FILENO)
		return fd;
	const int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return moved;
}

/* Gives the pipe that aero-init's stream is (docker's, kubectl's, a shell
 * pipeline's) PIPE_SIZE bytes of room, unless it has more: tee(2) then moves
 * up to that much at a time, where the usual 64 KiB made aero-init and the
 * reader wake each other for every 64 KiB. Never shrunk; a pipe that cannot
 * grow (the limit of the user's pipe pages) only costs speed. */
static void grow_pipe(int fd)
{
	const int size = fcntl(fd, F_GETPIPE_SZ);
	if (size >= 0 && (size_t)size < PIPE_SIZE)
		(void)fcntl(fd, F_SETPIPE_SZ, (int)PIPE_SIZE);
}

/* A pipe for the stream, and how to pass its bytes on to dst. */
static int capture(struct stream *s)
{
	int ends[2];
	if (pipe2(ends, O_CLOEXEC) < 0)
		return aero_error_set("cannot make a pipe for standard %s: %s", stream_name(s),
		                      strerror(errno));
	s->src = above_stdio(ends[0]);
	s->child_end = above_stdio(ends[1]);
	s->buffer = malloc(CHUNK);
	if (s->src < 0 || s->child_end < 0 || s->buffer == NULL)
		return aero_error_set("cannot set up standard %s: %s", stream_name(s),
		                      s->buffer == NULL ? "out of memory" : strerror(errno));
	if (fcntl(s->src, F_SETFL, O_NONBLOCK) < 0)
		return aero_error_set("cannot set up standard %s: %s", stream_name(s),
		                      strerror(errno));
	(void)fcntl(s->src, F_SETPIPE_SZ, (int)PIPE_SIZE); /* a smaller pipe only costs speed */
	struct stat st;
	const bool known = fstat(s->dst, &st) == 0;
	s->pass = known && S_ISFIFO(st.st_mode) ? PASS_TEE : PASS_COPY;
	if (s->pass == PASS_TEE)
		grow_pipe(s->dst);
	s->socket = known && S_ISSOCK(st.st_mode);
	return 0;
}

int aero_console_open(struct aero_console **out, const char *run_dir)
{
	*out = NULL;
	struct aero_console *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return aero_error_set("out of memory");
	bool any = false, terminal = false;
	for (int i = 0; i < 2; i++) {
		struct stream *s = &c->streams[i];
		s->name = (enum aero_console_stream)i;
		s->dst = i == 0 ? STDOUT_FILENO : STDERR_FILENO;
		s->src = s->child_end = -1;
		/* A terminal stays the experiment's, for TTY programs and job
		 * control; a closed stream stays closed. */
		if (isatty(s->dst)) {
			terminal = true;
			continue;
		}
		if (fcntl(s->dst, F_GETFL) < 0)
			continue;
		any = true;
		if (capture(s) < 0) {
			aero_console_close(c);
			return -1;
		}
	}
	if (terminal)
		aero_log_info("%s a terminal, so not recorded in output.log",
		              any ? "one of standard output and error is"
		                  : "standard output and error are");
	if (any && aero_console_log_open(&c->log, run_dir) < 0) {
		aero_console_close(c);
		return -1;
	}
	if (!any)
		aero_console_close(c);
	else
		*out = c;
	return 0;
}

struct aero_spawn_stdio aero_console_stdio(const struct aero_console *c)
{
	if (c == NULL)
		return (struct aero_spawn_stdio){.out = -1, .err = -1};
	return (struct aero_spawn_stdio){.out = c->streams[0].child_end,
	                                 .err = c->streams[1].child_end};
}

void aero_console_started(struct aero_console *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->streams[i].child_end >= 0)
			close(c->streams[i].child_end);
		c->streams[i].child_end = -1;
	}
}

/* aero-init's stream cannot take the bytes any more: record only, from now on. */
static void stop_passing(struct stream *s, int err)
{
	if (err == EPIPE)
		aero_log_info("the reader of standard %s is gone; the experiment's standard %s is "
		              "still recorded in output.log",
		              stream_name(s), stream_name(s));
	else
		aero_log_warn("cannot pass the experiment's standard %s on: %s; it is still "
		              "recorded in output.log",
		              stream_name(s), strerror(err));
	s->pass = PASS_OFF;
	s->dst_full = false;
	s->backlog_start = s->backlog_end = 0;
}

static bool has_backlog(const struct stream *s)
{
	return s->backlog_start < s->backlog_end;
}

/* Copy mode: writes what dst takes of the backlog without waiting; returns true
 * when anything went. */
static bool pass_backlog(struct stream *s)
{
	bool progress = false;
	while (has_backlog(s)) {
		size_t len = s->backlog_end - s->backlog_start;
		if (s->fifo && len > PIPE_BUF)
			len = PIPE_BUF; /* after POLLOUT, this much never blocks */
		const char *from = s->buffer + s->backlog_start;
		const ssize_t n = s->socket ? send(s->dst, from, len, MSG_DONTWAIT | MSG_NOSIGNAL)
		                            : write(s->dst, from, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			stop_passing(s, n < 0 ? errno : EPIPE);
			break;
		}
		progress = true;
		s->backlog_start += (size_t)n;
		if (s->fifo)
			break; /* a blocking pipe: wait for POLLOUT again */
	}
	if (!has_backlog(s))
		s->backlog_start = s->backlog_end = 0;
	return progress;
}

/* The experiment's end of the stream is closed and empty: record its last partial line. */
static void end_stream(struct aero_console *c, struct stream *s)
{
	close(s->src);
	s->src = -1;
	aero_console_log_end(c->log, s->name);
}

/* Reads up to want bytes that are waiting and records them. */
static void take(struct aero_console *c, struct stream *s, size_t want)
{
	while (want > 0) {
		const ssize_t n = read(s->src, s->buffer, want < CHUNK ? want : CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (n < 0)
				aero_log_warn("cannot read the experiment's standard %s: %s",
				              stream_name(s), strerror(errno));
			end_stream(c, s);
			return;
		}
		aero_console_log_add(c->log, s->name, s->buffer, (size_t)n);
		if (s->pass == PASS_COPY) {
			s->backlog_start = 0;
			s->backlog_end = (size_t)n;
			(void)pass_backlog(s);
			return; /* no more reading until the backlog is gone */
		}
		want -= (size_t)n;
	}
}

/* src is readable: pass on and record what is there. */
static void serve_input(struct aero_console *c, struct stream *s)
{
	if (s->pass == PASS_TEE) {
		const ssize_t n = tee(s->src, s->dst, TEE_MAX, SPLICE_F_NONBLOCK);
		if (n > 0) {
			take(c, s, (size_t)n);
			return;
		}
		if (n == 0) {
			end_stream(c, s);
			return;
		}
		if (errno == EAGAIN) { /* src has bytes, so dst has no room */
			s->dst_full = true;
			return;
		}
		if (errno == EPIPE) {
			stop_passing(s, EPIPE);
		} else {
			aero_log_debug("tee(2) to standard %s failed (%s); copying instead",
			               stream_name(s), strerror(errno));
			s->pass = PASS_COPY;
			s->fifo = true;
		}
	}
	take(c, s, CHUNK);
}

size_t aero_console_poll_fds(const struct aero_console *c, struct pollfd *fds)
{
	for (size_t i = 0; i < 2; i++) {
		const struct stream *s = &c->streams[i];
		const bool waiting = s->pass != PASS_OFF && (s->dst_full || has_backlog(s));
		fds[2 * i] = (struct pollfd){.fd = s->src >= 0 && !waiting ? s->src : -1,
		                             .events = POLLIN};
		fds[2 * i + 1] = (struct pollfd){.fd = waiting ? s->dst : -1, .events = POLLOUT};
	}
	return AERO_CONSOLE_POLL_FDS;
}

/* Serves one stream; returns true when bytes moved. */
static bool serve(struct aero_console *c, struct stream *s, short src_events, short dst_events)
{
	bool progress = false;
	if (dst_events != 0) {
		if (s->pass == PASS_TEE)
			s->dst_full = false; /* src is polled again, next time round */
		else if (s->pass == PASS_COPY)
			progress = pass_backlog(s);
	}
	if (src_events != 0 && s->src >= 0) {
		serve_input(c, s);
		progress = true;
	}
	return progress;
}

void aero_console_dispatch(struct aero_console *c, const struct pollfd *fds)
{
	for (size_t i = 0; i < 2; i++)
		(void)serve(c, &c->streams[i], fds[2 * i].revents, fds[2 * i + 1].revents);
	aero_console_log_expire(c->log);
	(void)aero_console_log_flush(c->log);
}

void aero_console_expire(struct aero_console *c)
{
	aero_console_log_expire(c->log);
	(void)aero_console_log_flush(c->log);
}

int64_t aero_console_due_ms(const struct aero_console *c)
{
	return aero_console_log_due_ms(c->log);
}

bool aero_console_waiting(const struct aero_console *c)
{
	return aero_console_log_waiting(c->log);
}

static bool busy(const struct aero_console *c)
{
	for (int i = 0; i < 2; i++) {
		const struct stream *s = &c->streams[i];
		if (s->src >= 0 || (s->pass != PASS_OFF && has_backlog(s)))
			return true;
	}
	return false;
}

void aero_console_finish(struct aero_console *c, long patience_ms)
{
	int64_t deadline = aero_clock_monotonic_ms() + patience_ms;
	while (busy(c)) {
		const int64_t left = deadline - aero_clock_monotonic_ms();
		if (left <= 0) {
			aero_log_warn(
			        "gave up waiting for the rest of the experiment's output after "
			        "%ld ms without progress; what is left is only recorded in "
			        "output.log",
			        patience_ms);
			return;
		}
		struct pollfd fds[AERO_CONSOLE_POLL_FDS];
		(void)aero_console_poll_fds(c, fds);
		const int ready =
		        poll(fds, AERO_CONSOLE_POLL_FDS, left > INT_MAX ? INT_MAX : (int)left);
		if (ready < 0 && errno != EINTR)
			return;
		bool progress = false;
		for (size_t i = 0; ready > 0 && i < 2; i++)
			progress |= serve(c, &c->streams[i], fds[2 * i].revents,
			                  fds[2 * i + 1].revents);
		(void)aero_console_log_flush(c->log);
		if (progress)
			deadline = aero_clock_monotonic_ms() + patience_ms;
	}
}

void aero_console_close(struct aero_console *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < 2; i++) {
		struct stream *s = &c->streams[i];
		if (s->src >= 0 && c->log != NULL) {
			s->pass = PASS_OFF;
			take(c, s, PIPE_SIZE); /* what the pipe holds now, no more */
			if (s->src >= 0)
				end_stream(c, s);
		}
		if (s->src >= 0)
			close(s->src);
		if (s->child_end >= 0)
			close(s->child_end);
		free(s->buffer);
	}
	aero_console_log_close(c->log);
	free(c);
}
