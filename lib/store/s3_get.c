/* Downloads from S3 into a file: the first range (one part long) tells the
 * object's size and ETag; the rest of a large object comes in up to
 * concurrency equal ranges of at least a part each, in parallel, that must
 * match that ETag (If-Match), each written where it belongs with pwrite. As
 * few ranges as keep every connection busy: each request costs a round trip,
 * and some servers (moto) read the whole object for each range. A download
 * cut off half-way resumes from the byte it reached. */
#include "error.h"
#include "s3_ops.h"
#include "s3_parallel.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "Range: bytes=" and two 20-digit numbers. */
#define RANGE_LINE 64

struct download {
	struct aero_s3 *s3;
	const char *key;
	int fd;
	uint64_t start; /* where the parallel ranges begin */
	uint64_t total; /* the object's size */
	uint64_t chunk;
	char *if_match; /* "If-Match: ETAG" */
	char (*ranges)[RANGE_LINE];
	uint64_t *marks;
	const struct aero_store_progress *progress;
};

static struct aero_s3_request get_request(const char *key, int fd, uint64_t offset)
{
	struct aero_s3_request req;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.key = key;
	req.body_fd = -1;
	req.out_fd = fd;
	req.out_offset = offset;
	return req;
}

static int changed(const struct aero_s3 *s3, const char *key)
{
	aero_error_set("s3://%s/%s%s changed since the download began (If-Match failed): "
	               "download it again from the start",
	               s3->conf.bucket, s3->conf.prefix, key);
	return AERO_STORE_CHANGED;
}

static char *if_match_line(const char *etag)
{
	const size_t len = strlen(etag) + sizeof("If-Match: ");
	char *line = malloc(len);
	if (line != NULL)
		(void)snprintf(line, len, "If-Match: %s", etag);
	return line;
}

/* The size of each parallel range for the left bytes. */
static uint64_t range_size(const struct aero_s3 *s3, uint64_t left)
{
	const uint64_t even = (left + s3->conf.concurrency - 1) / s3->conf.concurrency;
	return even > s3->conf.part_size ? even : s3->conf.part_size;
}

static int range_prepare(void *ctx, size_t job, struct aero_s3_request *req)
{
	struct download *dl = ctx;
	const uint64_t from = dl->start + (uint64_t)job * dl->chunk;
	const uint64_t to = dl->total - from > dl->chunk ? from + dl->chunk - 1 : dl->total - 1;
	(void)snprintf(dl->ranges[job], RANGE_LINE, "Range: bytes=%" PRIu64 "-%" PRIu64, from, to);
	*req = get_request(dl->key, dl->fd, from);
	req->headers[0] = dl->ranges[job];
	req->headers[1] = dl->if_match;
	req->progress = dl->progress;
	req->mark = &dl->marks[job];
	return 0;
}

static int range_finish(void *ctx, size_t job, const struct aero_s3_request *req,
                        const struct aero_s3_response *res)
{
	struct download *dl = ctx;
	const uint64_t from = dl->start + (uint64_t)job * dl->chunk;
	const uint64_t len = dl->total - from > dl->chunk ? dl->chunk : dl->total - from;
	if (res->status == 412)
		return changed(dl->s3, dl->key);
	if (res->status != 206)
		return aero_s3_fail(dl->s3, req, res);
	if (res->written != len) {
		aero_error_set("S3 sent %" PRIu64 " bytes of s3://%s/%s%s from byte %" PRIu64
		               " where %" PRIu64 " were asked for",
		               res->written, dl->s3->conf.bucket, dl->s3->conf.prefix, dl->key,
		               from, len);
		return AERO_STORE_ERROR;
	}
	return 0;
}

/* The bytes from dl->start on, in parallel ranges. */
static int get_rest(struct download *dl, const char *etag)
{
	const uint64_t left = dl->total - dl->start;
	const size_t count = (size_t)((left + dl->chunk - 1) / dl->chunk);
	dl->if_match = if_match_line(etag);
	dl->ranges = calloc(count, sizeof(*dl->ranges));
	dl->marks = calloc(count, sizeof(*dl->marks));
	int rc;
	if (dl->if_match == NULL || dl->ranges == NULL || dl->marks == NULL) {
		aero_error_set("out of memory");
		rc = AERO_STORE_ERROR;
	} else {
		for (size_t i = 0; i < count; i++)
			dl->marks[i] = dl->start + (uint64_t)i * dl->chunk;
		const struct aero_s3_jobs jobs = {.count = count,
		                                  .prepare = range_prepare,
		                                  .finish = range_finish,
		                                  .ctx = dl};
		rc = aero_s3_jobs_run(dl->s3, &jobs);
	}
	free(dl->if_match);
	free(dl->ranges);
	free(dl->marks);
	return rc;
}

/* How far the first range took the download. */
struct first {
	uint64_t pos;   /* the next byte to fetch */
	uint64_t total; /* the object's size */
	char etag[sizeof(((struct aero_store_stat *)0)->etag)];
};

/* After 416 (the offset is at or past the end): the object's size decides. */
static int get_past_end(struct aero_s3 *s3, const char *key, struct first *f)
{
	struct aero_store_stat now;
	const int rc = aero_s3_head(s3, key, &now);
	if (rc != AERO_STORE_OK)
		return rc;
	if ((f->etag[0] != '\0' && strcmp(f->etag, now.etag) != 0) || f->pos > now.size)
		return changed(s3, key);
	f->total = now.size;
	(void)snprintf(f->etag, sizeof(f->etag), "%s", now.etag);
	return AERO_STORE_OK;
}

/* One request for the first range (or, with no parallel ranges, for the
 * rest): 0 when it ended the first range, 1 when it broke off after some
 * bytes (f->pos moved on), else a store status. */
static int first_try(struct aero_s3 *s3, const char *key, int fd, struct first *f,
                     const struct aero_store_progress *progress, uint64_t *mark)
{
	const bool parallel = s3->conf.concurrency > 1;
	char range[RANGE_LINE];
	if (parallel)
		(void)snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64, f->pos,
		               f->pos + s3->conf.part_size - 1);
	else
		(void)snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-", f->pos);
	char *match = f->etag[0] != '\0' ? if_match_line(f->etag) : NULL;
	if (f->etag[0] != '\0' && match == NULL)
		return aero_error_set("out of memory");
	struct aero_s3_request req = get_request(key, fd, f->pos);
	size_t h = 0;
	if (parallel || f->pos > 0)
		req.headers[h++] = range;
	req.headers[h] = match;
	req.progress = progress;
	req.mark = mark;
	struct aero_s3_response res;
	int rc = aero_s3_perform(s3, &req, &res) < 0 ? AERO_STORE_ERROR : AERO_STORE_OK;
	free(match);
	if (rc != AERO_STORE_OK)
		return rc;
	if (res.status == 0 && res.written > 0 && res.etag[0] != '\0' && aero_s3_retryable(&res)) {
		/* perform tried it AERO_S3_TRIES times; one that brought bytes
		 * goes on from there, as often as it takes: the object is
		 * finite, so this ends. */
		f->pos += res.written;
		(void)snprintf(f->etag, sizeof(f->etag), "%s", res.etag);
		rc = 1;
	} else if (res.status == 412) {
		rc = changed(s3, key);
	} else if (res.status == 416) {
		rc = get_past_end(s3, key, f);
	} else if (res.status == 200 && f->pos > 0) {
		aero_error_set("the S3 endpoint %s ignored a Range header; it cannot resume",
		               s3->conf.endpoint);
		rc = AERO_STORE_ERROR;
	} else if (res.status != 200 && res.status != 206) {
		rc = aero_s3_fail(s3, &req, &res);
	} else {
		f->pos += res.written;
		f->total = res.status == 206 && res.has_total ? res.total : f->pos;
		(void)snprintf(f->etag, sizeof(f->etag), "%s", res.etag);
	}
	aero_s3_response_free(&res);
	return rc;
}

int aero_s3_get_fd(void *state, const char *key, int fd, uint64_t offset, const char *if_match,
                   struct aero_store_stat *st, const struct aero_store_progress *progress)
{
	struct aero_s3 *s3 = state;
	if (aero_s3_key_check(key) != AERO_STORE_OK)
		return AERO_STORE_ERROR;
	struct first f = {.pos = offset};
	if (if_match != NULL) {
		if (strlen(if_match) >= sizeof(f.etag) || strpbrk(if_match, "\r\n") != NULL ||
		    if_match[0] == '\0') {
			aero_error_set("'%s' is not an ETag from this store", if_match);
			return AERO_STORE_ERROR;
		}
		(void)snprintf(f.etag, sizeof(f.etag), "%s", if_match);
	}
	uint64_t mark = offset;
	int rc;
	do
		rc = first_try(s3, key, fd, &f, progress, &mark);
	while (rc == 1);
	if (rc == AERO_STORE_OK && f.pos < f.total) {
		if (f.etag[0] == '\0') {
			aero_error_set(
			        "S3 gave no ETag for s3://%s/%s%s, which a download in parts "
			        "needs",
			        s3->conf.bucket, s3->conf.prefix, key);
			return AERO_STORE_ERROR;
		}
		struct download dl = {.s3 = s3,
		                      .key = key,
		                      .fd = fd,
		                      .start = f.pos,
		                      .total = f.total,
		                      .chunk = range_size(s3, f.total - f.pos),
		                      .progress = progress};
		rc = get_rest(&dl, f.etag);
	}
	if (rc == AERO_STORE_OK && st != NULL) {
		st->size = f.total;
		(void)snprintf(st->etag, sizeof(st->etag), "%s", f.etag);
	}
	return rc;
}
