#include "channel.h"

#include "artifact_serve.h"
#include "clock.h"
#include "error.h"
#include "jsonscan.h"
#include "jsonshape.h"
#include "listen_guard.h"
#include "log.h"
#include "redact.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Answers waiting for a client that does not read them: past this, aero-init
 * stops handling and reading its messages until it does (backpressure, not
 * loss). */
#define ACK_BACKLOG_MAX ((size_t)64 * 1024)
#define MAX_CLIENTS 1024
/* Bytes read from a client at a time: each read's rows go to disk in one
 * write and its answers back in one send, so a bigger read means fewer
 * system calls per record. A unix socket seldom holds more than this (the
 * sender's buffer is about 208 KiB). One buffer serves every client. */
#define READ_SIZE ((size_t)256 * 1024)
/* Reads from one client before the others get their turn. */
#define READS_PER_TURN 8
/* A step is a whole number up to this (beyond 2^53 doubles skip some). */
#define STEP_MAX 9000000000000000LL
/* A carry buffer past this size, which only a long line needs, is given back
 * once the line is done. */
#define CARRY_KEEP ((size_t)64 * 1024)

static const char answer_ok[] = "{\"ok\":true}\n";
static const char answer_no_fds[] =
        "{\"ok\":false,\"error\":\"aero-init is out of file descriptors: this connection is "
        "refused; keep fewer open (one per process is enough)\"}\n";

struct client {
	int fd;
	char *carry; /* the start of a line not yet whole, kept for the next read */
	size_t carry_len;
	size_t carry_cap; /* grows with the longest line, up to the limit */
	bool carry_lines; /* carry holds whole lines too: its answers backed up */
	bool discarding;  /* inside a message that was too long: skip to its newline */
	char *out;        /* answers not yet sent: out_ready may go, the rest waits */
	size_t out_len, out_cap;
	size_t out_ready; /* answers whose records are on disk (the rest wait for room) */
	bool deaf;        /* it stopped reading: answers are dropped, its records still kept */
	bool closed;      /* the client hung up: drop it once its data is handled */
	bool handed_off;  /* an artifact worker answers it now and owns its socket */
	int passed[2];    /* stdout and stderr it passed (SCM_RIGHTS), or -1 */
	struct aero_json_shape *shape; /* of its last log record, or NULL */
};

struct aero_channel {
	int listen_fd;
	char *path;
	char *private_dir; /* when the socket lives under /tmp */
	struct aero_spool *spool;
	struct client *clients;
	size_t count;
	unsigned long errors;
	bool waiting; /* the spool holds records the disk had no room for: answers wait */
	char *buf;    /* a client's carry, then what one read brings */
	size_t buf_cap;
	struct aero_artifact_workers *workers;
	struct aero_listen_guard guard; /* for accept(2) out of descriptors */
	bool accept_paused;             /* out of descriptors, even the spare */
};

static int socket_path(struct aero_channel *ch, const char *run_dir,
                       const struct aero_channel_peer *peer)
{
	struct sockaddr_un addr;
	const size_t len = strlen(run_dir) + sizeof("/aero.sock");
	if (len <= sizeof(addr.sun_path) && (peer == NULL || peer->reaches_run_dir)) {
		ch->path = malloc(len);
		if (ch->path == NULL)
			return aero_error_set("out of memory");
		(void)snprintf(ch->path, len, "%s/aero.sock", run_dir);
		return 0;
	}
	/* Socket paths are limited to 108 bytes; a deep run directory, or one
	 * the experiment's user cannot reach, gets a private directory under /tmp
	 * instead: aero-init's, which others may pass through but not list. */
	char template[] = "/tmp/aeromancy-XXXXXX";
	if (mkdtemp(template) == NULL || (peer != NULL && peer->give && chmod(template, 0711) < 0))
		return aero_error_set("cannot create a directory for the socket: %s",
		                      strerror(errno));
	ch->private_dir = strdup(template);
	ch->path = malloc(sizeof(template) + sizeof("/aero.sock"));
	if (ch->private_dir == NULL || ch->path == NULL)
		return aero_error_set("out of memory");
	(void)snprintf(ch->path, sizeof(template) + sizeof("/aero.sock"), "%s/aero.sock", template);
	return 0;
}

/* The experiment runs as another user: the socket becomes its own, and no
 * one else's (root aside). */
static int give_socket(const struct aero_channel *ch, const struct aero_channel_peer *peer)
{
	if (peer == NULL || !peer->give)
		return 0;
	if (chmod(ch->path, 0600) < 0 || chown(ch->path, peer->uid, peer->gid) < 0)
		return aero_error_set("cannot give %s to uid %u: %s", ch->path, (unsigned)peer->uid,
		                      strerror(errno));
	return 0;
}

int aero_channel_open(struct aero_channel **out, const char *run_dir, struct aero_spool *spool,
                      const struct aero_channel_peer *peer)
{
	struct aero_channel *ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return aero_error_set("out of memory");
	ch->listen_fd = -1;
	ch->spool = spool;
	ch->workers = aero_artifact_workers_new(run_dir);
	if (ch->workers == NULL) {
		free(ch);
		return aero_error_set("out of memory");
	}
	aero_listen_guard_init(&ch->guard);
	if (socket_path(ch, run_dir, peer) < 0 || ch->path == NULL) {
		aero_channel_close(ch);
		return -1;
	}
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memcpy(addr.sun_path, ch->path, strlen(ch->path) + 1);
	(void)unlink(ch->path); /* a socket left by an earlier run of this directory */
	ch->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ch->listen_fd < 0 || bind(ch->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(ch->listen_fd, 128) < 0 || setenv("AERO_SOCKET", ch->path, 1) < 0) {
		aero_error_set("cannot listen on %s: %s", ch->path, strerror(errno));
		aero_channel_close(ch);
		return -1;
	}
	if (give_socket(ch, peer) < 0) {
		aero_channel_close(ch);
		return -1;
	}
	*out = ch;
	return 0;
}

size_t aero_channel_poll_fds(const struct aero_channel *ch, struct pollfd *fds, size_t max)
{
	size_t n = 0;
	if (n < max && ch->count < MAX_CLIENTS && !ch->accept_paused)
		fds[n++] = (struct pollfd){.fd = ch->listen_fd, .events = POLLIN};
	for (size_t i = 0; i < ch->count && n < max; i++) {
		const struct client *c = &ch->clients[i];
		short events = 0;
		if (c->out_len < ACK_BACKLOG_MAX && !aero_spool_full(ch->spool))
			events |= POLLIN;
		if (c->out_ready > 0)
			events |= POLLOUT;
		/* Nothing to do for it (the disk has no room): not even a hangup,
		 * which poll() reports whatever the events, may wake the loop. */
		fds[n++] = (struct pollfd){.fd = events != 0 ? c->fd : -1, .events = events};
	}
	return n;
}

/* Makes room for len more bytes in *buf (holding used of *cap). */
static int reserve(char **buf, size_t *cap, size_t used, size_t len)
{
	if (used + len <= *cap)
		return 0;
	/* Most clients send short lines, one at a time. */
	size_t bigger_cap = *cap > 0 ? *cap : 256;
	while (bigger_cap < used + len)
		bigger_cap *= 2;
	char *bigger = realloc(*buf, bigger_cap);
	if (bigger == NULL)
		return -1;
	*buf = bigger;
	*cap = bigger_cap;
	return 0;
}

static void queue_answer(struct client *c, const char *text, size_t len)
{
	if (c->deaf)
		return;
	if (reserve(&c->out, &c->out_cap, c->out_len, len) < 0) {
		c->closed = true; /* cannot answer: hang up rather than leave it waiting */
		return;
	}
	memcpy(c->out + c->out_len, text, len);
	c->out_len += len;
}

static void refuse(struct aero_channel *ch, struct client *c, const char *why)
{
	ch->errors++;
	aero_log_warn("refused a record from the experiment: %s", why);
	cJSON *answer = cJSON_CreateObject();
	char *text = NULL;
	if (answer != NULL && cJSON_AddFalseToObject(answer, "ok") != NULL &&
	    cJSON_AddStringToObject(answer, "error", why) != NULL)
		text = cJSON_PrintUnformatted(answer);
	cJSON_Delete(answer);
	if (text == NULL) {
		static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}\n";
		queue_answer(c, oom, sizeof(oom) - 1);
		return;
	}
	queue_answer(c, text, strlen(text));
	queue_answer(c, "\n", 1);
	free(text);
}

/* The top-level members a message may have. */
enum { TYPE, DATA, STEP, TAGS, TEXT, MEMBERS };

/* A data object: an object whose keys do not start with '_' (reserved). */
static const char *data_problem(const struct aero_json_member *data)
{
	if (data->kind != AERO_JSON_OBJECT)
		return "\"data\" must be an object";
	if (data->underscore_key)
		return "keys starting with '_' are reserved";
	return NULL;
}

/* A history row, the hot path: its data goes to the spool as sent, without
 * parsing it into a tree or printing its numbers again. */
static const char *log_row(struct aero_channel *ch, const struct aero_json_member *m, int *rc)
{
	const char *problem = data_problem(&m[DATA]);
	if (problem != NULL)
		return problem;
	long long step = AERO_SPOOL_NEXT_STEP;
	if (m[STEP].kind != AERO_JSON_ABSENT &&
	    (m[STEP].kind != AERO_JSON_NUMBER ||
	     aero_json_whole_number(m[STEP].value, m[STEP].len, STEP_MAX, &step) < 0))
		return "step must be a whole number from 0";
	*rc = aero_spool_log(ch->spool, m[DATA].value, m[DATA].len, step);
	return NULL;
}

/* summary, config, tags and notes, which are rare: the message is parsed
 * whole (it is valid JSON already) and merged into its file. */
static const char *merge_values(struct aero_channel *ch, const struct aero_json_member *m,
                                const char *line, size_t len, int *rc)
{
	const bool tags = aero_json_string_is(m[TYPE].value, m[TYPE].len, "tags");
	const bool notes = aero_json_string_is(m[TYPE].value, m[TYPE].len, "notes");
	const char *problem = NULL;
	if (tags || notes) {
		if (tags && m[TAGS].kind != AERO_JSON_ARRAY)
			problem = "\"tags\" must be a list of strings";
		if (notes && m[TEXT].kind != AERO_JSON_STRING)
			problem = "\"text\" must be a string";
	} else {
		problem = data_problem(&m[DATA]);
	}
	if (problem != NULL)
		return problem;
	cJSON *msg = cJSON_ParseWithLength(line, len);
	if (msg == NULL) {
		*rc = aero_error_set("out of memory");
		return NULL;
	}
	if (!tags && !notes) {
		const bool summary = aero_json_string_is(m[TYPE].value, m[TYPE].len, "summary");
		cJSON *data = cJSON_GetObjectItemCaseSensitive(msg, "data");
		/* A secret's value is never written, so never sent to a tracker. */
		*rc = aero_json_redact_secrets(data) < 0
		              ? aero_error_set("out of memory")
		              : aero_spool_merge(ch->spool,
		                                 summary ? "summary.json" : "config.json", data);
		cJSON_Delete(msg);
		return NULL;
	}
	cJSON *value = cJSON_DetachItemFromObjectCaseSensitive(msg, tags ? "tags" : "text");
	if (tags) {
		const cJSON *t;
		cJSON_ArrayForEach(t, value)
		{
			if (!cJSON_IsString(t))
				problem = "\"tags\" must be a list of strings";
		}
	}
	cJSON *update = cJSON_CreateObject();
	if (problem == NULL && (update == NULL || value == NULL ||
	                        !cJSON_AddItemToObject(update, tags ? "tags" : "notes", value))) {
		*rc = aero_error_set("out of memory");
	} else if (problem == NULL) {
		value = NULL; /* update owns it now */
		*rc = aero_spool_merge(ch->spool, "run.json", update);
	}
	cJSON_Delete(value);
	cJSON_Delete(update);
	cJSON_Delete(msg);
	return problem;
}

static void close_passed(struct client *c)
{
	for (int i = 0; i < 2; i++) {
		if (c->passed[i] >= 0)
			(void)close(c->passed[i]);
		c->passed[i] = -1;
	}
}

/* An artifact request: a worker does it and answers the client when done;
 * the connection is the worker's from now on (doc/channel.md). */
static const char *start_artifact_worker(struct aero_channel *ch, struct client *c,
                                         const char *line, size_t len)
{
	struct ucred cred = {.uid = getuid(), .gid = getgid()};
	socklen_t cred_len = sizeof(cred);
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cred_len) < 0)
		aero_log_debug("no credentials for an artifact client: %s", strerror(errno));
	cJSON *msg = cJSON_ParseWithLength(line, len);
	if (msg == NULL)
		return "out of memory";
	const char *problem = aero_artifact_workers_start(ch->workers, msg, c->fd, c->passed[0],
	                                                  c->passed[1], cred.uid, cred.gid);
	cJSON_Delete(msg);
	c->passed[0] = c->passed[1] = -1; /* closed by the call, in every case */
	if (problem == NULL) {
		c->handed_off = true;
		c->closed = true;
	}
	return problem;
}

/* Answers a message: refused for the problem, or for the error when rc < 0,
 * else recorded. */
static void reply(struct aero_channel *ch, struct client *c, const char *problem, int rc)
{
	if (problem != NULL)
		refuse(ch, c, problem);
	else if (rc < 0)
		refuse(ch, c, aero_error_last());
	else if (!c->handed_off)
		queue_answer(c, answer_ok, sizeof(answer_ok) - 1);
}

/* Keeps the shape of the client's log record (line, len bytes, scanned into
 * m), so that its next ones, alike but for their numbers, are checked
 * against it (lib/jsonshape.h) instead of scanned in full. */
static void learn_shape(struct client *c, const char *line, size_t len,
                        const struct aero_json_member *m)
{
	if (c->shape != NULL && len > aero_json_shape_room(c->shape)) {
		aero_json_shape_free(c->shape); /* a bigger one, below */
		c->shape = NULL;
	}
	if (c->shape == NULL && len <= AERO_JSON_SHAPE_TEXT_MAX)
		c->shape = aero_json_shape_new(len); /* none: every record is scanned */
	if (c->shape != NULL)
		(void)aero_json_shape_learn(c->shape, line, len, m, MEMBERS);
}

/* A log record at the start of text (len bytes) that has the shape of the
 * client's last one and is a whole line: handled, and its length with the
 * newline returned; else 0. */
static size_t handle_alike(struct aero_channel *ch, struct client *c, const char *text, size_t len)
{
	struct aero_json_member m[MEMBERS];
	const size_t n = aero_json_shape_match(c->shape, text, len, m);
	if (n == 0 || n == len || text[n] != '\n')
		return 0;
	int rc = 0;
	const char *problem = log_row(ch, m, &rc);
	reply(ch, c, problem, rc);
	return n + 1;
}

/* One message (len bytes, no newline): validate, write to the spool, answer. */
static void handle_message(struct aero_channel *ch, struct client *c, const char *line, size_t len)
{
	/* Only the names: the scan sets the rest. An initializer would clear
	 * all of m first (a `rep stos`, slow to start: about 4% of aero-init's
	 * time per log message). */
	struct aero_json_member m[MEMBERS];
	m[TYPE].name = "type";
	m[DATA].name = "data";
	m[STEP].name = "step";
	m[TAGS].name = "tags";
	m[TEXT].name = "text";
	const char *problem = NULL;
	int rc = 0;
	if (aero_json_scan_object(line, len, m, MEMBERS) < 0) {
		rc = -1; /* not JSON, not an object, or a member twice: aero_error says */
	} else if (m[TYPE].kind != AERO_JSON_STRING) {
		problem = "no \"type\" (log, summary, config, tags, notes or artifact)";
	} else if (aero_json_string_is(m[TYPE].value, m[TYPE].len, "log")) {
		problem = log_row(ch, m, &rc);
		if (problem == NULL && rc == 0)
			learn_shape(c, line, len, m);
	} else if (aero_json_string_is(m[TYPE].value, m[TYPE].len, "artifact")) {
		problem = start_artifact_worker(ch, c, line, len);
	} else if (aero_json_string_is(m[TYPE].value, m[TYPE].len, "summary") ||
	           aero_json_string_is(m[TYPE].value, m[TYPE].len, "config") ||
	           aero_json_string_is(m[TYPE].value, m[TYPE].len, "tags") ||
	           aero_json_string_is(m[TYPE].value, m[TYPE].len, "notes")) {
		problem = merge_values(ch, m, line, len, &rc);
	} else {
		problem = "unknown \"type\" (use log, summary, config, tags, notes or artifact)";
	}
	reply(ch, c, problem, rc);
}

/* Keeps text (len bytes) in the client's carry for its next turn. */
static void keep_carry(struct client *c, const char *text, size_t len)
{
	if (len == 0 && c->carry_cap > CARRY_KEEP) {
		free(c->carry);
		c->carry = NULL;
		c->carry_cap = 0;
	}
	if (reserve(&c->carry, &c->carry_cap, 0, len) < 0) {
		c->closed = true;
		len = 0;
	}
	if (len > 0)
		memcpy(c->carry, text, len);
	c->carry_len = len;
}

/* The spool said whether all that it was given is on disk (0) or some waits
 * for room (1): answers go only for records on disk, in order, so while
 * anything waits, every answer waits. Once nothing does, all may go but the
 * client c's past `ready` bytes, whose records are not written yet. */
static void settle(struct aero_channel *ch, struct client *c, int spool_waiting, size_t ready)
{
	if (spool_waiting != 0) {
		ch->waiting = true;
		return;
	}
	if (ch->waiting) {
		for (size_t i = 0; i < ch->count; i++)
			ch->clients[i].out_ready = ch->clients[i].out_len;
		ch->waiting = false;
	}
	if (c != NULL)
		c->out_ready = ready;
}

/* Handles the whole lines in text (len bytes), until the client's answers
 * back up or the spool is full; what is left goes back to its carry. */
static void handle_lines(struct aero_channel *ch, struct client *c, char *text, size_t len)
{
	size_t start = 0;
	bool backed_up = false;
	for (;;) {
		/* Rows pile up in the spool only while some wait for room: until
		 * then, a batch's rows (and those being written) are far from the
		 * bound, and it is not asked for each line. */
		if (c->out_len >= ACK_BACKLOG_MAX || (ch->waiting && aero_spool_full(ch->spool))) {
			backed_up = true;
			break;
		}
		if (c->shape != NULL && !c->discarding && !c->handed_off) {
			const size_t n = handle_alike(ch, c, text + start, len - start);
			start += n;
			if (n > 0)
				continue;
		}
		const char *nl = c->handed_off ? NULL : memchr(text + start, '\n', len - start);
		if (nl == NULL)
			break;
		const size_t line_len = (size_t)(nl - text) - start;
		if (c->discarding)
			c->discarding = false;
		else if (line_len > AERO_CHANNEL_MAX_MESSAGE)
			refuse(ch, c, "message longer than 1048576 bytes");
		else if (line_len > 0)
			handle_message(ch, c, text + start, line_len);
		start = (size_t)(nl - text) + 1;
	}
	size_t rest = len - start;
	c->carry_lines = backed_up && memchr(text + start, '\n', rest) != NULL;
	if (!c->carry_lines && c->discarding) {
		rest = 0; /* still inside the message that was too long */
	} else if (!c->carry_lines && rest > AERO_CHANNEL_MAX_MESSAGE) {
		refuse(ch, c, "message longer than 1048576 bytes");
		c->discarding = true;
		rest = 0;
	}
	keep_carry(c, text + start, rest);
}

/* Sends the answers that may go, as far as the socket takes them; returns
 * how many bytes left the front of c->out (sent, or all dropped when the
 * client stopped reading). */
static size_t write_client(struct client *c)
{
	size_t sent = 0;
	while (sent < c->out_ready) {
		const ssize_t n = send(c->fd, c->out + sent, c->out_ready - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/* It stopped reading (it may have exited): what it sent is
			 * still read and recorded, the answers go nowhere. */
			const size_t dropped = c->out_len;
			c->deaf = true;
			c->out_len = c->out_ready = 0;
			return dropped;
		}
		sent += (size_t)n;
	}
	if (sent > 0 && sent < c->out_len)
		memmove(c->out, c->out + sent, c->out_len - sent);
	c->out_len -= sent;
	c->out_ready -= sent;
	return sent;
}

/* One read from the client; descriptors it passes along (an artifact
 * request's stdout and stderr) are kept for its request. */
static ssize_t receive(struct client *c, void *buf, size_t len)
{
	union {
		char bytes[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = control.bytes,
	                     .msg_controllen = sizeof(control.bytes)};
	const ssize_t n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0 || msg.msg_controllen == 0)
		return n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		const size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		close_passed(c);
		for (size_t i = 0; i < count; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			if (i < 2)
				c->passed[i] = fd;
			else
				(void)close(fd);
		}
	}
	return n;
}

/* Reads from the client, up to max_reads times, and handles what it sent,
 * each read's lines as one batch; marks it closed when it hung up. Whether it
 * got anything done. A batch's rows go to disk in one write, on the spool's
 * thread, while the next read is handled; its answers leave once it is done.
 * When the disk has no room for them, they wait in the spool, and their
 * answers (and every later one) here. */
static bool read_batches(struct aero_channel *ch, struct client *c, int max_reads)
{
	bool progress = false, writing = false;
	size_t ready = 0; /* c->out_len after the batch being written */
	for (int reads = 0; reads < max_reads && !c->closed && c->out_len < ACK_BACKLOG_MAX &&
	                    !aero_spool_full(ch->spool);) {
		/* The carry first, then a read after it: lines are contiguous. */
		if (reserve(&ch->buf, &ch->buf_cap, 0, c->carry_len + READ_SIZE) < 0) {
			c->closed = true;
			break;
		}
		if (c->carry_len > 0)
			memcpy(ch->buf, c->carry, c->carry_len);
		size_t len = c->carry_len;
		if (!c->carry_lines) {
			const ssize_t n = receive(c, ch->buf + len, READ_SIZE);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				c->closed = true;
				break;
			}
			len += (size_t)n;
			reads++;
		}
		progress = true;
		handle_lines(ch, c, ch->buf, len);
		/* While the rows before are still being written, these wait in
		 * the spool and go with the next batch's. */
		if (writing && !aero_spool_writing(ch->spool)) {
			settle(ch, c, aero_spool_finish(ch->spool), ready);
			writing = false;
		}
		if (!writing) {
			aero_spool_start(ch->spool);
			ready = c->out_len;
			writing = aero_spool_writing(ch->spool);
			if (!writing) /* nothing to write, or written in place */
				settle(ch, c, aero_spool_finish(ch->spool), ready);
		}
		/* The answers that may go, in one send; `ready` counts from the
		 * front of c->out, which they leave. */
		const size_t gone = write_client(c);
		ready -= gone < ready ? gone : ready;
	}
	if (writing)
		settle(ch, c, aero_spool_finish(ch->spool), ready);
	if (progress) {
		/* What waited for that write, at once. */
		settle(ch, c, aero_spool_flush(ch->spool), c->out_len);
		(void)write_client(c);
	}
	return progress;
}

/* The client's carry holds whole lines, left when its answers backed up or
 * the spool was full, and now they can be handled. */
static bool lines_waiting(const struct aero_channel *ch, const struct client *c)
{
	return c->carry_lines && c->out_len < ACK_BACKLOG_MAX && !aero_spool_full(ch->spool);
}

/* read_batches, again while lines it left in the carry (their answers
 * backed up behind a write that has since gone) can be handled: no event
 * would come for them. */
static bool read_client(struct aero_channel *ch, struct client *c, int max_reads)
{
	bool progress = false;
	while (read_batches(ch, c, max_reads)) {
		progress = true;
		if (c->closed || !lines_waiting(ch, c))
			break;
	}
	return progress;
}

static void accept_clients(struct aero_channel *ch)
{
	while (ch->count < MAX_CLIENTS) {
		const int fd = accept4(ch->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0) {
			/* Out of descriptors, the connection stays queued: refused
			 * instead, or not polled for until one is free. */
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ch->accept_paused = !aero_listen_guard_refuse(
				        &ch->guard, ch->listen_fd, errno, answer_no_fds);
			return;
		}
		struct client *bigger = realloc(ch->clients, (ch->count + 1) * sizeof(*bigger));
		if (bigger == NULL) {
			close(fd);
			return;
		}
		ch->clients = bigger;
		ch->clients[ch->count++] = (struct client){.fd = fd, .passed = {-1, -1}};
	}
}

static void drop_closed(struct aero_channel *ch)
{
	size_t kept = 0;
	for (size_t i = 0; i < ch->count; i++) {
		struct client *c = &ch->clients[i];
		if (c->closed) {
			if (!c->handed_off)
				close(c->fd);
			close_passed(c);
			free(c->carry);
			free(c->out);
			aero_json_shape_free(c->shape);
		} else {
			ch->clients[kept++] = *c;
		}
	}
	ch->count = kept;
}

void aero_channel_dispatch(struct aero_channel *ch, const struct pollfd *fds, size_t count)
{
	if (ch->accept_paused && aero_listen_guard_rearm(&ch->guard))
		ch->accept_paused = false;
	/* fds lists the clients in their order (accepting only appends). */
	size_t j = 0;
	for (size_t i = 0; i < count; i++) {
		if (fds[i].fd == ch->listen_fd) {
			if (fds[i].revents != 0)
				accept_clients(ch);
			continue;
		}
		if (fds[i].fd < 0)
			continue; /* a client left out (above) */
		while (j < ch->count && ch->clients[j].fd != fds[i].fd)
			j++;
		if (j == ch->count)
			break;
		struct client *c = &ch->clients[j];
		if (fds[i].revents & POLLOUT)
			(void)write_client(c);
		if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) || lines_waiting(ch, c))
			(void)read_client(ch, c, READS_PER_TURN);
	}
	drop_closed(ch);
}

void aero_channel_drain(struct aero_channel *ch)
{
	accept_clients(ch);
	for (bool progress = true; progress;) {
		progress = false;
		for (size_t i = 0; i < ch->count; i++) {
			struct client *c = &ch->clients[i];
			(void)write_client(c);
			progress |= read_client(ch, c, READS_PER_TURN);
		}
	}
	drop_closed(ch);
}

int64_t aero_channel_due_ms(const struct aero_channel *ch)
{
	return aero_spool_retry_ms(ch->spool);
}

void aero_channel_retry(struct aero_channel *ch)
{
	if (aero_spool_retry_ms(ch->spool) == 0 ||
	    aero_clock_monotonic_ms() < aero_spool_retry_ms(ch->spool))
		return;
	settle(ch, NULL, aero_spool_retry(ch->spool), 0);
	for (size_t i = 0; i < ch->count; i++) {
		struct client *c = &ch->clients[i];
		(void)write_client(c);
		if (lines_waiting(ch, c))
			(void)read_client(ch, c, READS_PER_TURN);
	}
	drop_closed(ch);
}

bool aero_channel_waiting(const struct aero_channel *ch)
{
	return aero_spool_retry_ms(ch->spool) != 0;
}

size_t aero_channel_unread(const struct aero_channel *ch)
{
	size_t unread = 0;
	for (size_t i = 0; i < ch->count; i++) {
		const struct client *c = &ch->clients[i];
		int pending = 0;
		if (c->carry_lines || (ioctl(c->fd, FIONREAD, &pending) == 0 && pending > 0))
			unread++;
	}
	return unread;
}

unsigned long aero_channel_errors(const struct aero_channel *ch)
{
	return ch->errors;
}

void aero_channel_close(struct aero_channel *ch)
{
	if (ch == NULL)
		return;
	for (size_t i = 0; i < ch->count; i++)
		ch->clients[i].closed = true;
	drop_closed(ch);
	free(ch->clients);
	if (ch->listen_fd >= 0)
		close(ch->listen_fd);
	aero_listen_guard_close(&ch->guard, "AERO_SOCKET");
	if (ch->path != NULL)
		(void)unlink(ch->path);
	if (ch->private_dir != NULL)
		(void)rmdir(ch->private_dir);
	free(ch->path);
	free(ch->private_dir);
	free(ch->buf);
	aero_artifact_workers_free(ch->workers);
	free(ch);
}

bool aero_channel_child_ended(struct aero_channel *ch, pid_t pid, int wait_status)
{
	return ch != NULL && aero_artifact_workers_reaped(ch->workers, pid, wait_status);
}
