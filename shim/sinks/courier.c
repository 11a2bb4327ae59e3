/* The courier: reads the spool from each sink's cursor and hands the sinks
 * what is new. See courier.h and doc/trackers.md.
 *
 * A cursor (RUN_DIR/sinks/NAME.json) says how far each spool file has been
 * delivered, in bytes and lines, the digests of the summary, config and run
 * files last delivered, and the sink's own state (its run id...). It moves
 * only after the tracker has accepted a batch; a sink makes a second delivery
 * of the same batch harmless, so a crash anywhere loses and doubles nothing.
 * RUN_DIR/sinks/NAME.lock, held with flock(2), keeps two deliverers apart. */
#include "courier.h"

#include "canonjson.h"
#include "clock.h"
#include "error.h"
#include "files.h"
#include "http.h"
#include "log.h"
#include "runsdir.h"
#include "sha256.h"
#include "sink.h"
#include "sinkutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STREAMS 4
#define OBJECTS 3
#define ROUTES_MAX 4
/* A batch holds up to this much of each spool file, and more when one line
 * is longer (a metrics row is at most 1 MiB and a little). */
#define BATCH_BYTES (1u << 20)
#define LINE_MAX_BYTES (4u << 20)
/* The largest manifest, summary, config or run file read. */
#define JSON_MAX (1u << 26)
#define BACKOFF_FIRST_MS 2000
#define BACKOFF_MAX_MS 60000

static const char *const stream_files[STREAMS] = {"metrics.jsonl", "system.jsonl", "output.log",
                                                  "artifacts.jsonl"};
static const char *const stream_keys[STREAMS] = {"metrics", "system", "console", "artifacts"};
static const char *const object_files[OBJECTS] = {"summary.json", "config.json", "run.json"};
static const char *const object_keys[OBJECTS] = {"summary", "config", "run"};

static const struct aero_sink_ops *const sinks[] = {&aero_sink_wandb, &aero_sink_mlflow, NULL};

const struct aero_sink_ops *aero_sink_find(const char *name)
{
	for (size_t i = 0; sinks[i] != NULL; i++)
		if (strcmp(sinks[i]->name, name) == 0)
			return sinks[i];
	return NULL;
}

struct cursor {
	long long offset[STREAMS];
	long line[STREAMS];
	char digest[OBJECTS][65];
	bool begun;
	bool finished;
};

struct route {
	const struct aero_sink_ops *ops;
	void *sink; /* NULL when it could not be opened: its records wait for a sync */
	struct aero_sink_ctx ctx;
	struct cursor cur;
	char *cursor_path;
	int lock_fd;
	bool failed; /* refused for good */
	bool done;   /* everything delivered and the run finished */
	int64_t next_try_ms;
	long backoff_ms;
	bool stop_sent;
};

struct aero_courier {
	struct aero_courier_options opts;
	/* manifest.json as read when artifacts.jsonl was manifest_at bytes long:
	 * the journal changes the manifest's inputs and outputs, and each of its
	 * lines is in the manifest before it is in the journal. */
	cJSON *manifest;
	long long manifest_at;
	struct route routes[ROUTES_MAX];
	size_t count;
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ending;         /* the run has ended: deliver the rest and finish */
	int64_t deadline_ms; /* give up then (CLOCK_MONOTONIC) */
};

/* What one step read from the spool for one route. */
struct loaded {
	char *text[STREAMS];
	size_t len[STREAMS];
	long count[STREAMS];
	cJSON *object[OBJECTS];
	char digest[OBJECTS][65];
	bool more; /* a stream had more than one batch's worth */
};

int aero_courier_check_trackers(const char *trackers)
{
	if (trackers == NULL)
		return 0;
	const char *p = trackers;
	while (*p != '\0') {
		const size_t len = strcspn(p, ", ");
		if (len > 0) {
			bool known = len == 5 && strncmp(p, "local", 5) == 0;
			for (size_t i = 0; !known && sinks[i] != NULL; i++)
				known = strlen(sinks[i]->name) == len &&
				        strncmp(p, sinks[i]->name, len) == 0;
			if (!known)
				return aero_error_set("unknown tracker '%.*s' in AERO_TRACKER: use "
				                      "local, wandb or "
				                      "mlflow, separated by commas",
				                      (int)len, p);
		}
		p += len;
		p += strspn(p, ", ");
	}
	return 0;
}

/* ---- cursors ---- */

static void cursor_from_json(struct cursor *cur, cJSON **remote, const cJSON *json)
{
	for (int i = 0; i < STREAMS; i++) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(json, stream_keys[i]);
		const cJSON *off = cJSON_GetObjectItemCaseSensitive(s, "offset");
		const cJSON *line = cJSON_GetObjectItemCaseSensitive(s, "line");
		if (cJSON_IsNumber(off) && off->valuedouble >= 0)
			cur->offset[i] = (long long)off->valuedouble;
		if (cJSON_IsNumber(line) && line->valuedouble >= 0)
			cur->line[i] = (long)line->valuedouble;
	}
	for (int i = 0; i < OBJECTS; i++) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(json, object_keys[i]);
		if (cJSON_IsString(d) && strlen(d->valuestring) == 64)
			memcpy(cur->digest[i], d->valuestring, 65);
	}
	cur->begun = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json, "begun"));
	cur->finished = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json, "finished"));
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(json, "remote");
	if (cJSON_IsObject(r)) {
		cJSON *copy = cJSON_Duplicate(r, 1);
		if (copy != NULL) {
			cJSON_Delete(*remote);
			*remote = copy;
		}
	}
}

static int cursor_save(const struct route *r)
{
	cJSON *json = cJSON_CreateObject();
	bool ok = json != NULL;
	for (int i = 0; ok && i < STREAMS; i++) {
		cJSON *s = cJSON_AddObjectToObject(json, stream_keys[i]);
		ok = s != NULL &&
		     cJSON_AddNumberToObject(s, "offset", (double)r->cur.offset[i]) != NULL &&
		     cJSON_AddNumberToObject(s, "line", (double)r->cur.line[i]) != NULL;
	}
	for (int i = 0; ok && i < OBJECTS; i++)
		ok = cJSON_AddStringToObject(json, object_keys[i], r->cur.digest[i]) != NULL;
	ok = ok && cJSON_AddBoolToObject(json, "begun", r->cur.begun) != NULL &&
	     cJSON_AddBoolToObject(json, "finished", r->cur.finished) != NULL;
	cJSON *remote = ok ? cJSON_Duplicate(r->ctx.remote, 1) : NULL;
	ok = ok && remote != NULL && cJSON_AddItemToObject(json, "remote", remote);
	if (!ok)
		cJSON_Delete(remote);
	char *text = ok ? aero_json_canonical(json) : NULL;
	cJSON_Delete(json);
	if (text == NULL)
		return aero_error_set("out of memory");
	const int rc = aero_file_write_atomic(r->cursor_path, text);
	free(text);
	return rc;
}

/* Opens (creating) the route's cursor and takes its lock. */
static int route_open(struct route *r, const char *run_dir, const char *name, bool wait_lock)
{
	r->lock_fd = -1;
	r->ctx.run_dir = run_dir;
	r->ctx.retry_after_ms = -1;
	r->ctx.remote = cJSON_CreateObject();
	char *dir = aero_path_join(run_dir, "sinks");
	char *lock = dir != NULL ? aero_path_join(dir, name) : NULL;
	r->cursor_path = dir != NULL ? malloc(strlen(dir) + strlen(name) + 8) : NULL;
	if (r->ctx.remote == NULL || lock == NULL || r->cursor_path == NULL) {
		free(dir);
		free(lock);
		return aero_error_set("out of memory");
	}
	(void)sprintf(r->cursor_path, "%s/%s.json", dir, name);
	int rc = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		rc = aero_error_set("cannot create %s: %s", dir, strerror(errno));
	if (rc == 0) {
		char *lock_path = malloc(strlen(lock) + 6);
		if (lock_path == NULL) {
			rc = aero_error_set("out of memory");
		} else {
			(void)sprintf(lock_path, "%s.lock", lock);
			r->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
			if (r->lock_fd < 0)
				rc = aero_error_set("cannot create %s: %s", lock_path,
				                    strerror(errno));
			else if (flock(r->lock_fd, LOCK_EX | (wait_lock ? 0 : LOCK_NB)) < 0)
				rc = aero_error_set(
				        "another aero-init is delivering %s's records to %s",
				        run_dir, name);
			free(lock_path);
		}
	}
	size_t len = 0;
	char *text = rc == 0 ? aero_file_read(r->cursor_path, 1u << 24, &len) : NULL;
	if (text != NULL) {
		cJSON *json = cJSON_Parse(text);
		if (json == NULL)
			rc = aero_error_set("%s is damaged; remove it to deliver everything again",
			                    r->cursor_path);
		else
			cursor_from_json(&r->cur, &r->ctx.remote, json);
		cJSON_Delete(json);
		free(text);
	} else if (rc == 0) {
		rc = cursor_save(r);
	}
	free(dir);
	free(lock);
	return rc;
}

static void route_close(struct route *r)
{
	if (r->sink != NULL)
		r->ops->close(r->sink);
	cJSON_Delete(r->ctx.remote);
	free(r->cursor_path);
	if (r->lock_fd >= 0)
		(void)close(r->lock_fd);
	memset(r, 0, sizeof(*r));
	r->lock_fd = -1;
}

/* ---- reading the spool ---- */

static void loaded_free(struct loaded *l)
{
	for (int i = 0; i < STREAMS; i++)
		free(l->text[i]);
	for (int i = 0; i < OBJECTS; i++)
		cJSON_Delete(l->object[i]);
	memset(l, 0, sizeof(*l));
}

/* Reads the complete lines of a spool file from offset: at most a batch's
 * worth, but always the first line whole. */
static int read_lines(const char *run_dir, int i, long long offset, struct loaded *l)
{
	char *path = aero_path_join(run_dir, stream_files[i]);
	if (path == NULL)
		return aero_error_set("out of memory");
	const int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		const int err = errno;
		free(path);
		return err == ENOENT ? 0
		                     : aero_error_set("cannot read %s: %s", stream_files[i],
		                                      strerror(err));
	}
	size_t cap = BATCH_BYTES;
	char *buf = NULL;
	size_t got = 0;
	int rc = 0;
	for (;;) {
		char *grown = realloc(buf, cap);
		if (grown == NULL) {
			rc = aero_error_set("out of memory");
			break;
		}
		buf = grown;
		while (got < cap) {
			const ssize_t n =
			        pread(fd, buf + got, cap - got, (off_t)(offset + (long long)got));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				rc = aero_error_set("cannot read %s: %s", path, strerror(errno));
				break;
			}
			if (n == 0)
				break;
			got += (size_t)n;
		}
		if (rc < 0 || got < cap || memchr(buf, '\n', got) != NULL || cap >= LINE_MAX_BYTES)
			break;
		cap *= 2; /* one line longer than a batch: read on to its end */
	}
	(void)close(fd);
	if (rc == 0 && got == cap)
		l->more = true;
	size_t len = got;
	while (len > 0 && buf[len - 1] != '\n')
		len--;
	if (rc == 0 && len == 0 && got == cap)
		rc = aero_error_set("%s has a line longer than %u bytes at byte %lld", path,
		                    LINE_MAX_BYTES, offset);
	long count = 0;
	for (const char *p = buf; rc == 0 && p != NULL && p < buf + len;
	     p = memchr(p, '\n', (size_t)(buf + len - p))) {
		if (*p == '\n')
			p++;
		if (p < buf + len)
			count++;
	}
	free(path);
	if (rc < 0 || len == 0) {
		free(buf);
		return rc;
	}
	l->text[i] = buf;
	l->len[i] = len;
	l->count[i] = count;
	return 0;
}

/* Reads summary/config/run.json when their digest differs from the cursor's. */
static int read_object(const char *run_dir, int i, const char *last, struct loaded *l)
{
	char *path = aero_path_join(run_dir, object_files[i]);
	if (path == NULL)
		return aero_error_set("out of memory");
	size_t len = 0;
	char *text = aero_file_read(path, JSON_MAX, &len);
	free(path);
	if (text == NULL)
		return 0; /* not written yet */
	const void *parts[] = {text};
	const size_t lengths[] = {len};
	aero_sha256_hex(parts, lengths, 1, l->digest[i]);
	if (strcmp(l->digest[i], last) != 0) {
		l->object[i] = cJSON_Parse(text);
		if (l->object[i] == NULL) {
			free(text);
			return aero_error_set("%s is not valid JSON", object_files[i]);
		}
	}
	free(text);
	return 0;
}

/* Reads the manifest again when the journal has grown past what it was read
 * with, so that every batch (whichever file it sends) carries the manifest
 * that lists the artifacts up to its lines; a manifest that cannot be read
 * leaves the last one. */
static void refresh_manifest(struct aero_courier *c, long long artifacts_end)
{
	if (artifacts_end <= c->manifest_at)
		return;
	cJSON *m = aero_file_read_json(c->opts.run_dir, "manifest.json", JSON_MAX);
	if (m == NULL)
		return;
	cJSON_Delete(c->manifest);
	c->manifest = m;
	c->manifest_at = artifacts_end;
}

static int load(struct aero_courier *c, const struct route *r, struct loaded *l,
                struct aero_batch *b)
{
	memset(l, 0, sizeof(*l));
	const char *dir = c->opts.run_dir;
	int rc = 0;
	for (int i = 0; rc == 0 && i < STREAMS; i++)
		rc = read_lines(dir, i, r->cur.offset[i], l);
	for (int i = 0; rc == 0 && i < OBJECTS; i++)
		rc = read_object(dir, i, r->cur.digest[i], l);
	if (rc < 0) {
		loaded_free(l);
		return -1;
	}
	refresh_manifest(c, r->cur.offset[STREAMS - 1] + (long long)l->len[STREAMS - 1]);
	struct aero_lines *lines[STREAMS] = {&b->metrics, &b->system, &b->console, &b->artifacts};
	*b = (struct aero_batch){.run_dir = dir, .manifest = c->manifest};
	for (int i = 0; i < STREAMS; i++)
		*lines[i] = (struct aero_lines){l->text[i], l->len[i], r->cur.line[i], l->count[i]};
	b->summary = l->object[0];
	b->config = l->object[1];
	b->run = l->object[2];
	return 0;
}

static bool batch_empty(const struct aero_batch *b)
{
	return b->metrics.count == 0 && b->system.count == 0 && b->console.count == 0 &&
	       b->artifacts.count == 0 && b->summary == NULL && b->config == NULL && b->run == NULL;
}

static void advance(struct route *r, const struct loaded *l)
{
	for (int i = 0; i < STREAMS; i++) {
		r->cur.offset[i] += (long long)l->len[i];
		r->cur.line[i] += l->count[i];
	}
	for (int i = 0; i < OBJECTS; i++)
		if (l->object[i] != NULL)
			memcpy(r->cur.digest[i], l->digest[i], 65);
}

/* ---- the outcome ---- */

/* Reads the outcome from run.json; *json holds the strings it points into. */
static void read_outcome(const char *run_dir, struct aero_outcome *o, cJSON **json)
{
	*o = (struct aero_outcome){0};
	*json = aero_file_read_json(run_dir, "run.json", JSON_MAX);
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(*json, "state");
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(*json, "exit_status");
	const cJSON *end = cJSON_GetObjectItemCaseSensitive(*json, "end_time");
	if (!cJSON_IsString(state) || !cJSON_IsNumber(status))
		return;
	o->known = true;
	o->state = state->valuestring;
	o->exit_status = status->valueint;
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(*json, "signal");
	o->signal = cJSON_IsString(sig) ? sig->valuestring : NULL;
	o->end_time = cJSON_IsString(end) ? aero_sink_parse_utc(end->valuestring)
	                                  : aero_clock_now_seconds();
}

/* ---- delivering ---- */

static long jitter(long ms)
{
	unsigned short r = 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = 32768;
	return ms * 3 / 4 + (long)((double)ms / 2 * r / 65536.0);
}

/* A sink said no: wait before the next try, or give up for good. The wait
 * counts from now, when the answer has come (Retry-After means after the
 * answer), not from when the request was started. */
static void setback(struct route *r, enum aero_sink_result result, const char *what)
{
	if (result == AERO_SINK_FAILED) {
		r->failed = true;
		aero_log_error(
		        "%s: %s refused for good: %s; the records stay in %s (deliver them with "
		        "'aero-init sync %s' once fixed)",
		        r->ops->name, what, aero_error_last(), r->ctx.run_dir, r->ctx.run_dir);
		return;
	}
	const long wait =
	        r->ctx.retry_after_ms >= 0 ? r->ctx.retry_after_ms : jitter(r->backoff_ms);
	r->next_try_ms = aero_clock_monotonic_ms() + wait;
	aero_log(r->backoff_ms == BACKOFF_FIRST_MS ? AERO_LOG_WARN : AERO_LOG_INFO,
	         "%s: %s did not get through (%s); trying again in %.1f s", r->ops->name, what,
	         aero_error_last(), (double)wait / 1000);
	r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
}

static void reset_backoff(struct route *r)
{
	r->backoff_ms = BACKOFF_FIRST_MS;
	r->next_try_ms = 0;
}

/* One step of one route: registers, delivers one batch, or finishes. Returns
 * true when there is more to do at once. */
static bool step(struct aero_courier *c, struct route *r, bool ending, int64_t now)
{
	if (r->sink == NULL || r->failed || r->done || now < r->next_try_ms)
		return false;
	r->ctx.retry_after_ms = -1;
	struct loaded l;
	struct aero_batch b;
	if (load(c, r, &l, &b) < 0) {
		aero_log_error("%s: cannot read the spool: %s", r->ops->name, aero_error_last());
		r->failed = true;
		return false;
	}
	b.ending = ending;
	bool more = false;
	enum aero_sink_result res = AERO_SINK_OK;
	if (!r->cur.begun) {
		res = r->ops->begin(r->sink, &r->ctx, &b);
		if (res == AERO_SINK_OK) {
			r->cur.begun = true;
			more = true;
			if (cursor_save(r) < 0)
				aero_log_warn("%s: %s", r->ops->name, aero_error_last());
		} else {
			setback(r, res, "registering the run");
		}
	} else if (!batch_empty(&b) || !ending) {
		res = r->ops->send(r->sink, &r->ctx, &b);
		if (res == AERO_SINK_OK) {
			advance(r, &l);
			more = l.more || (ending && !batch_empty(&b));
			if (!batch_empty(&b) && cursor_save(r) < 0) {
				aero_log_error("%s: cannot save the cursor: %s", r->ops->name,
				               aero_error_last());
				r->failed = true;
			}
		} else {
			setback(r, res, "delivering records");
		}
	} else {
		struct aero_outcome outcome;
		cJSON *json = NULL;
		read_outcome(c->opts.run_dir, &outcome, &json);
		if (!outcome.known) {
			aero_log_warn("%s: the run has no recorded outcome (aero-init did not see "
			              "it end); "
			              "its records are delivered and the run is left open",
			              r->ops->name);
			r->done = true;
		} else {
			res = r->ops->finish(r->sink, &r->ctx, &outcome);
			if (res == AERO_SINK_OK) {
				r->cur.finished = true;
				r->done = true;
				if (cursor_save(r) < 0)
					aero_log_warn("%s: %s", r->ops->name, aero_error_last());
			} else {
				setback(r, res, "finishing the run");
			}
		}
		cJSON_Delete(json);
	}
	if (res == AERO_SINK_OK)
		reset_backoff(r);
	if (r->ctx.stop_requested && !r->stop_sent && c->opts.stop_on_request && !ending) {
		r->stop_sent = true;
		aero_log_warn("%s: the run was stopped from the tracker; sending SIGTERM to the "
		              "experiment",
		              r->ops->name);
		(void)kill(getpid(), SIGTERM);
	}
	loaded_free(&l);
	return more;
}

static bool all_done(const struct aero_courier *c)
{
	for (size_t i = 0; i < c->count; i++)
		if (c->routes[i].sink != NULL && !c->routes[i].failed && !c->routes[i].done)
			return false;
	return true;
}

/* When the next step is due: the interval, or an earlier retry; once the run
 * has ended, as soon as a route may try again. */
static int64_t next_due(const struct aero_courier *c, int64_t now, bool ending)
{
	int64_t due = ending ? INT64_MAX : now + c->opts.interval_ms;
	for (size_t i = 0; i < c->count; i++) {
		const struct route *r = &c->routes[i];
		if (r->sink == NULL || r->failed || r->done)
			continue;
		const int64_t mine = r->next_try_ms > now ? r->next_try_ms : now;
		if (ending || r->next_try_ms > now)
			due = mine < due ? mine : due;
	}
	return due == INT64_MAX ? now : due;
}

static void *run_thread(void *arg)
{
	struct aero_courier *c = arg;
	if (c->opts.thread_start != NULL)
		c->opts.thread_start(c->opts.thread_arg);
	(void)pthread_mutex_lock(&c->lock);
	for (;;) {
		const bool ending = c->ending;
		const int64_t deadline = c->deadline_ms;
		(void)pthread_mutex_unlock(&c->lock);
		const int64_t now = aero_clock_monotonic_ms();
		bool more = false;
		for (size_t i = 0; i < c->count; i++)
			more |= step(c, &c->routes[i], ending, now);
		(void)pthread_mutex_lock(&c->lock);
		if (c->ending && (all_done(c) || aero_clock_monotonic_ms() >= c->deadline_ms))
			break;
		if (more || c->ending != ending)
			continue;
		int64_t due = next_due(c, aero_clock_monotonic_ms(), ending);
		if (ending && due > deadline)
			due = deadline;
		/* The condition variable's clock is CLOCK_MONOTONIC (see start). */
		struct timespec until;
		(void)clock_gettime(CLOCK_MONOTONIC, &until);
		const int64_t wait = due - aero_clock_monotonic_ms();
		if (wait > 0) {
			until.tv_sec += (time_t)(wait / 1000);
			until.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			(void)pthread_cond_timedwait(&c->cond, &c->lock, &until);
		}
	}
	(void)pthread_mutex_unlock(&c->lock);
	aero_error_clear();
	return NULL;
}

/* ---- set-up ---- */

static cJSON *read_manifest(const char *run_dir)
{
	cJSON *m = aero_file_read_json(run_dir, "manifest.json", JSON_MAX);
	return m != NULL ? m : cJSON_CreateObject();
}

static void courier_free(struct aero_courier *c)
{
	for (size_t i = 0; i < c->count; i++)
		route_close(&c->routes[i]);
	cJSON_Delete(c->manifest);
	free(c);
}

/* Adds a route for the sink name: opens its cursor, then the sink itself
 * (a sink that cannot be opened keeps its cursor, for a later sync). */
static int add_route(struct aero_courier *c, const char *name, bool wait_lock)
{
	const struct aero_sink_ops *ops = aero_sink_find(name);
	if (ops == NULL || c->count == ROUTES_MAX)
		return 0;
	for (size_t i = 0; i < c->count; i++)
		if (c->routes[i].ops == ops)
			return 0;
	struct route *r = &c->routes[c->count++];
	r->ops = ops;
	r->backoff_ms = BACKOFF_FIRST_MS;
	r->ctx.interactive = c->opts.interactive;
	if (route_open(r, c->opts.run_dir, name, wait_lock) < 0)
		return -1;
	if (r->cur.finished) {
		r->done = true;
		return 0;
	}
	r->sink = ops->open(&r->ctx);
	if (r->sink == NULL)
		aero_log_warn("%s: not delivering: %s; the records stay in %s for 'aero-init sync'",
		              name, aero_error_last(), c->opts.run_dir);
	return 0;
}

/* The routes named by trackers, or by the run directory's cursors. */
static int add_routes(struct aero_courier *c, const char *trackers, bool wait_lock)
{
	if (trackers != NULL) {
		char *list = strdup(trackers);
		if (list == NULL)
			return aero_error_set("out of memory");
		int rc = 0;
		char *save = NULL;
		for (char *t = strtok_r(list, ", ", &save); t != NULL && rc == 0;
		     t = strtok_r(NULL, ", ", &save))
			rc = add_route(c, t, wait_lock);
		free(list);
		return rc;
	}
	for (size_t i = 0; sinks[i] != NULL; i++) {
		char *dir = aero_path_join(c->opts.run_dir, "sinks");
		char *cursor =
		        dir != NULL ? malloc(strlen(dir) + strlen(sinks[i]->name) + 8) : NULL;
		if (cursor == NULL) {
			free(dir);
			return aero_error_set("out of memory");
		}
		(void)sprintf(cursor, "%s/%s.json", dir, sinks[i]->name);
		const bool named = access(cursor, F_OK) == 0;
		free(dir);
		free(cursor);
		if (named && add_route(c, sinks[i]->name, wait_lock) < 0)
			return -1;
	}
	return 0;
}

static struct aero_courier *courier_new(const struct aero_courier_options *opts)
{
	struct aero_courier *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->opts = *opts;
	if (c->opts.interval_ms <= 0)
		c->opts.interval_ms = 5000;
	c->manifest = read_manifest(opts->run_dir);
	if (c->manifest == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

/* A courier with a route for each tracker asked for (or named by the run
 * directory); NULL with aero_error set. */
static struct aero_courier *courier_open(const struct aero_courier_options *opts)
{
	if (aero_courier_check_trackers(opts->trackers) < 0)
		return NULL;
	struct aero_courier *c = courier_new(opts);
	if (c == NULL) {
		aero_error_set("out of memory");
		return NULL;
	}
	if (aero_http_global_init() < 0 || add_routes(c, opts->trackers, false) < 0) {
		courier_free(c);
		return NULL;
	}
	return c;
}

int aero_courier_start(struct aero_courier **courier, const struct aero_courier_options *opts)
{
	*courier = NULL;
	struct aero_courier *c = courier_open(opts);
	if (c == NULL)
		return -1;
	if (c->count == 0) {
		courier_free(c);
		return 0;
	}
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);
	if (rc == 0)
		rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&c->cond, &attr);
	(void)pthread_condattr_destroy(&attr);
	if (rc == 0 && (rc = pthread_mutex_init(&c->lock, NULL)) == 0) {
		rc = pthread_create(&c->thread, NULL, run_thread, c);
		if (rc != 0) {
			(void)pthread_mutex_destroy(&c->lock);
			(void)pthread_cond_destroy(&c->cond);
		}
	}
	if (rc != 0) {
		courier_free(c);
		return aero_error_set("cannot start the tracker courier: %s", strerror(rc));
	}
	c->running = true;
	*courier = c;
	return 0;
}

static int undelivered(const struct aero_courier *c)
{
	int left = 0;
	for (size_t i = 0; i < c->count; i++)
		if (!c->routes[i].done)
			left++;
	return left;
}

static void report_left(const struct aero_courier *c)
{
	for (size_t i = 0; i < c->count; i++) {
		const struct route *r = &c->routes[i];
		if (r->sink != NULL && !r->done && !r->failed)
			aero_log_warn(
			        "%s: not everything was delivered; the records stay in %s: run "
			        "'aero-init sync %s' to deliver them",
			        r->ops->name, c->opts.run_dir, c->opts.run_dir);
	}
}

int aero_courier_finish(struct aero_courier *c, long timeout_ms)
{
	if (c == NULL)
		return 0;
	(void)pthread_mutex_lock(&c->lock);
	c->ending = true;
	c->deadline_ms = aero_clock_monotonic_ms() + timeout_ms;
	(void)pthread_cond_signal(&c->cond);
	(void)pthread_mutex_unlock(&c->lock);
	(void)pthread_join(c->thread, NULL);
	(void)pthread_mutex_destroy(&c->lock);
	(void)pthread_cond_destroy(&c->cond);
	report_left(c);
	const int left = undelivered(c);
	courier_free(c);
	return left;
}

int aero_courier_sync(const struct aero_courier_options *opts, long timeout_ms)
{
	char *manifest = aero_path_join(opts->run_dir, "manifest.json");
	struct stat st;
	const bool is_run = manifest != NULL && stat(manifest, &st) == 0;
	free(manifest);
	if (!is_run)
		return aero_error_set("%s is not a run directory (it has no manifest.json)",
		                      opts->run_dir);
	struct aero_courier *c = courier_open(opts);
	if (c == NULL)
		return -1;
	if (c->count == 0)
		aero_log_warn("%s names no tracker to deliver to (give --tracker)", opts->run_dir);
	const int64_t deadline = aero_clock_monotonic_ms() + timeout_ms;
	while (!all_done(c)) {
		const int64_t now = aero_clock_monotonic_ms();
		if (now >= deadline)
			break;
		bool more = false;
		for (size_t i = 0; i < c->count; i++)
			more |= step(c, &c->routes[i], true, now);
		if (more)
			continue;
		const int64_t due = next_due(c, aero_clock_monotonic_ms(), true);
		const int64_t wait = (due < deadline ? due : deadline) - aero_clock_monotonic_ms();
		if (wait > 0) {
			const struct timespec ts = {(time_t)(wait / 1000),
			                            (long)(wait % 1000) * 1000000L};
			(void)nanosleep(&ts, NULL);
		}
	}
	int rc = 0;
	for (size_t i = 0; i < c->count; i++) {
		const struct route *r = &c->routes[i];
		if (r->failed || (r->sink == NULL && !r->done))
			rc = 1;
		else if (!r->done && rc == 0)
			rc = 75;
		else if (r->done && opts->interactive)
			aero_log(AERO_LOG_WARN,
			         "%s: delivered everything (%ld rows, %ld system samples, %ld "
			         "console lines)",
			         r->ops->name, r->cur.line[0], r->cur.line[1], r->cur.line[2]);
	}
	report_left(c);
	courier_free(c);
	return rc;
}
