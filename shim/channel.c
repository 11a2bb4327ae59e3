#include "channel.h"

#include "error.h"
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Acknowledgements waiting for a client that does not read them: past this,
 * aero-init stops reading from it until it does (backpressure, not loss). */
#define ACK_BACKLOG_MAX ((size_t)64 * 1024)
#define MAX_CLIENTS 1024

struct client {
	int fd;
	char *in; /* bytes received, not yet a whole line */
	size_t in_len;
	size_t in_cap;   /* grows with the longest line, up to the limit */
	bool discarding; /* inside a message that was too long: skip to its newline */
	char *out;       /* acknowledgements not yet written */
	size_t out_len;
	bool closed; /* the client hung up: drop it once its data is handled */
};

struct aero_channel {
	int listen_fd;
	char *path;
	char *private_dir; /* when the socket lives under /tmp */
	struct aero_spool *spool;
	struct client *clients;
	size_t count;
	unsigned long errors;
};

static int socket_path(struct aero_channel *ch, const char *run_dir)
{
	struct sockaddr_un addr;
	const size_t len = strlen(run_dir) + sizeof("/aero.sock");
	if (len <= sizeof(addr.sun_path)) {
		ch->path = malloc(len);
		if (ch->path == NULL)
			return aero_error_set("out of memory");
		(void)snprintf(ch->path, len, "%s/aero.sock", run_dir);
		return 0;
	}
	/* Socket paths are limited to 108 bytes; a deep run directory gets a
	 * private directory under /tmp instead. */
	char template[] = "/tmp/aeromancy-XXXXXX";
	if (mkdtemp(template) == NULL)
		return aero_error_set("cannot create a directory for the socket: %s",
		                      strerror(errno));
	ch->private_dir = strdup(template);
	ch->path = malloc(sizeof(template) + sizeof("/aero.sock"));
	if (ch->private_dir == NULL || ch->path == NULL)
		return aero_error_set("out of memory");
	(void)snprintf(ch->path, sizeof(template) + sizeof("/aero.sock"), "%s/aero.sock", template);
	return 0;
}

int aero_channel_open(struct aero_channel **out, const char *run_dir, struct aero_spool *spool)
{
	struct aero_channel *ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return aero_error_set("out of memory");
	ch->listen_fd = -1;
	ch->spool = spool;
	if (socket_path(ch, run_dir) < 0 || ch->path == NULL) {
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
	*out = ch;
	return 0;
}

size_t aero_channel_poll_fds(const struct aero_channel *ch, struct pollfd *fds, size_t max)
{
	size_t n = 0;
	if (n < max && ch->count < MAX_CLIENTS)
		fds[n++] = (struct pollfd){.fd = ch->listen_fd, .events = POLLIN};
	for (size_t i = 0; i < ch->count && n < max; i++) {
		const struct client *c = &ch->clients[i];
		short events = 0;
		if (c->out_len < ACK_BACKLOG_MAX)
			events |= POLLIN;
		if (c->out_len > 0)
			events |= POLLOUT;
		fds[n++] = (struct pollfd){.fd = c->fd, .events = events};
	}
	return n;
}

static void queue_ack(struct client *c, const char *text)
{
	const size_t len = strlen(text);
	char *bigger = realloc(c->out, c->out_len + len);
	if (bigger == NULL) {
		c->closed = true; /* cannot answer: hang up rather than leave it waiting */
		return;
	}
	c->out = bigger;
	memcpy(c->out + c->out_len, text, len);
	c->out_len += len;
}

static void refuse(struct aero_channel *ch, struct client *c, const char *why)
{
	ch->errors++;
	aero_log_warn("refused a record from the experiment: %s", why);
	cJSON *ack = cJSON_CreateObject();
	char *text = NULL;
	if (ack != NULL && cJSON_AddFalseToObject(ack, "ok") != NULL &&
	    cJSON_AddStringToObject(ack, "error", why) != NULL)
		text = cJSON_PrintUnformatted(ack);
	cJSON_Delete(ack);
	if (text == NULL) {
		queue_ack(c, "{\"ok\":false,\"error\":\"out of memory\"}\n");
		return;
	}
	queue_ack(c, text);
	queue_ack(c, "\n");
	free(text);
}

/* A data object: an object whose keys do not start with '_' (reserved). */
static const char *check_data(const cJSON *data)
{
	if (!cJSON_IsObject(data))
		return "\"data\" must be an object";
	const cJSON *item;
	cJSON_ArrayForEach(item, data)
	{
		if (item->string[0] == '_')
			return "keys starting with '_' are reserved";
	}
	return NULL;
}

/* Skips one JSON value of a text known to be valid; returns its end. */
static const char *skip_value(const char *p)
{
	int depth = 0;
	do {
		if (*p == '"') {
			for (p++; *p != '"' && *p != '\0'; p++)
				if (*p == '\\' && p[1] != '\0')
					p++;
			if (*p == '"')
				p++;
		} else if (*p == '{' || *p == '[') {
			depth++;
			p++;
		} else if (*p == '}' || *p == ']') {
			depth--;
			p++;
		} else if (depth == 0) {
			p += strcspn(p, ",}] \t\r\n"); /* a number or a literal */
		} else {
			p++;
		}
	} while (depth > 0 && *p != '\0');
	return p;
}

/* The text of the top-level member `key` of a valid JSON object, or NULL when
 * it is not there under that exact spelling. */
static const char *raw_member(const char *json, const char *key, size_t *len)
{
	const size_t key_len = strlen(key);
	const char *p = json + strspn(json, " \t\r\n");
	if (*p++ != '{')
		return NULL;
	for (;;) {
		p += strspn(p, " \t\r\n,");
		if (*p != '"')
			return NULL;
		const char *name = p + 1;
		const char *value = skip_value(p);
		const bool match =
		        (size_t)(value - name) == key_len + 1 && memcmp(name, key, key_len) == 0;
		value += strspn(value, " \t\r\n");
		if (*value++ != ':')
			return NULL;
		value += strspn(value, " \t\r\n");
		const char *end = skip_value(value);
		if (match) {
			*len = (size_t)(end - value);
			return value;
		}
		p = end;
	}
}

/* A history row: the data as sent goes to the spool, without being printed
 * again (formatting numbers is most of the cost of a record). */
static int log_row(struct aero_channel *ch, const cJSON *msg, const char *line, const cJSON *data)
{
	const cJSON *step = cJSON_GetObjectItemCaseSensitive(msg, "step");
	size_t len = 0;
	const char *raw = raw_member(line, "data", &len);
	if (raw != NULL)
		return aero_spool_log(ch->spool, raw, len, step);
	/* "data" spelled with escapes: print it once. */
	char *text = cJSON_PrintUnformatted(data);
	if (text == NULL)
		return aero_error_set("out of memory");
	const int rc = aero_spool_log(ch->spool, text, strlen(text), step);
	free(text);
	return rc;
}

/* One message: validate, write to the spool, acknowledge. */
static void handle_message(struct aero_channel *ch, struct client *c, const char *line)
{
	cJSON *msg = cJSON_Parse(line);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(msg, "type");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(msg, "data");
	const char *problem = NULL;
	int rc = 0;
	if (msg == NULL || !cJSON_IsObject(msg))
		problem = "not a JSON object";
	else if (!cJSON_IsString(type))
		problem = "no \"type\" (log, summary, config, tags or notes)";
	else if (strcmp(type->valuestring, "log") == 0) {
		problem = check_data(data);
		if (problem == NULL)
			rc = log_row(ch, msg, line, data);
	} else if (strcmp(type->valuestring, "summary") == 0 ||
	           strcmp(type->valuestring, "config") == 0) {
		problem = check_data(data);
		if (problem == NULL)
			rc = aero_spool_merge(
			        ch->spool,
			        type->valuestring[0] == 's' ? "summary.json" : "config.json", data);
	} else if (strcmp(type->valuestring, "tags") == 0 ||
	           strcmp(type->valuestring, "notes") == 0) {
		const bool tags = type->valuestring[0] == 't';
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(msg, tags ? "tags" : "text");
		bool valid = tags ? cJSON_IsArray(value) : cJSON_IsString(value);
		if (tags) {
			const cJSON *t;
			cJSON_ArrayForEach(t, value)
			{
				valid = valid && cJSON_IsString(t);
			}
		}
		if (!valid) {
			problem = tags ? "\"tags\" must be a list of strings"
			               : "\"text\" must be a string";
		} else {
			cJSON *update = cJSON_CreateObject();
			cJSON *copy = cJSON_Duplicate(value, 1);
			if (update == NULL || copy == NULL ||
			    !cJSON_AddItemToObject(update, tags ? "tags" : "notes", copy)) {
				cJSON_Delete(copy);
				rc = aero_error_set("out of memory");
			} else {
				rc = aero_spool_merge(ch->spool, "run.json", update);
			}
			cJSON_Delete(update);
		}
	} else {
		problem = "unknown \"type\" (use log, summary, config, tags or notes)";
	}
	cJSON_Delete(msg);
	if (problem != NULL)
		refuse(ch, c, problem);
	else if (rc < 0)
		refuse(ch, c, aero_error_last());
	else
		queue_ack(c, "{\"ok\":true}\n");
}

/* Handles every whole line received so far. */
static void handle_lines(struct aero_channel *ch, struct client *c)
{
	const size_t acked_before = c->out_len;
	size_t start = 0;
	for (;;) {
		char *nl = memchr(c->in + start, '\n', c->in_len - start);
		if (nl == NULL)
			break;
		*nl = '\0';
		if (c->discarding)
			c->discarding = false;
		else if (nl > c->in + start)
			handle_message(ch, c, c->in + start);
		start = (size_t)(nl - c->in) + 1;
	}
	/* The rows of this batch go to disk in one write, before any of their
	 * acknowledgements can leave. When that fails, none is acknowledged and
	 * the connection is closed: the client knows its records are not kept. */
	if (aero_spool_flush(ch->spool) < 0) {
		aero_log_error("cannot record the experiment's metrics: %s", aero_error_last());
		c->out_len = acked_before;
		c->closed = true;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len > AERO_CHANNEL_MAX_MESSAGE) {
		if (!c->discarding)
			refuse(ch, c, "message longer than 1048576 bytes");
		c->discarding = true;
		c->in_len = 0;
	}
}

/* Reads and handles what the client sent; marks it closed when it hung up. */
static void read_client(struct aero_channel *ch, struct client *c)
{
	for (;;) {
		/* Room for one byte past the limit, which tells a line too long. */
		if (c->in_len == c->in_cap && c->in_cap < AERO_CHANNEL_MAX_MESSAGE + 1) {
			size_t cap = c->in_cap == 0 ? 4096 : c->in_cap * 2;
			if (cap > AERO_CHANNEL_MAX_MESSAGE + 1)
				cap = AERO_CHANNEL_MAX_MESSAGE + 1;
			char *bigger = realloc(c->in, cap);
			if (bigger == NULL) {
				c->closed = true;
				return;
			}
			c->in = bigger;
			c->in_cap = cap;
		}
		const size_t room = c->in_cap - c->in_len;
		const ssize_t n = read(c->fd, c->in + c->in_len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			c->closed = true;
			return;
		}
		c->in_len += (size_t)n;
		handle_lines(ch, c);
		if (c->out_len >= ACK_BACKLOG_MAX)
			return; /* backpressure: wait until it reads its acknowledgements */
	}
}

static void write_client(struct client *c)
{
	while (c->out_len > 0) {
		const ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			c->closed = true;
			c->out_len = 0;
			return;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
}

static void accept_clients(struct aero_channel *ch)
{
	while (ch->count < MAX_CLIENTS) {
		const int fd = accept4(ch->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct client *bigger = realloc(ch->clients, (ch->count + 1) * sizeof(*bigger));
		if (bigger == NULL) {
			close(fd);
			return;
		}
		ch->clients = bigger;
		ch->clients[ch->count++] = (struct client){.fd = fd};
	}
}

static void drop_closed(struct aero_channel *ch)
{
	size_t kept = 0;
	for (size_t i = 0; i < ch->count; i++) {
		struct client *c = &ch->clients[i];
		if (c->closed) {
			close(c->fd);
			free(c->in);
			free(c->out);
		} else {
			ch->clients[kept++] = *c;
		}
	}
	ch->count = kept;
}

void aero_channel_dispatch(struct aero_channel *ch, const struct pollfd *fds, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (fds[i].revents == 0)
			continue;
		if (fds[i].fd == ch->listen_fd) {
			accept_clients(ch);
			continue;
		}
		for (size_t j = 0; j < ch->count; j++) {
			struct client *c = &ch->clients[j];
			if (c->fd != fds[i].fd)
				continue;
			if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
				read_client(ch, c);
			write_client(c);
		}
	}
	drop_closed(ch);
}

void aero_channel_drain(struct aero_channel *ch)
{
	accept_clients(ch);
	for (size_t i = 0; i < ch->count; i++) {
		read_client(ch, &ch->clients[i]);
		write_client(&ch->clients[i]);
	}
	drop_closed(ch);
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
	if (ch->path != NULL)
		(void)unlink(ch->path);
	if (ch->private_dir != NULL)
		(void)rmdir(ch->private_dir);
	free(ch->path);
	free(ch->private_dir);
	free(ch);
}
