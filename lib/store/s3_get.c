/* Downloads from S3 into a file: the first range tells the object's size and
 * ETag, the rest of a large object comes in parallel ranges that must match
 * that ETag (If-Match), each written where it belongs with pwrite. A download
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

/* After 416 (the offset is at or past the end): the object's size decides. */
static int get_past_end(struct aero_s3 *s3, const char *key, uint64_t offset, const char *if_match,
                        struct aero_store_stat *st)
{
	struct aero_store_stat now;
	const int rc = aero_s3_head(s3, key, &now);
	if (rc != AERO_STORE_OK)
		return rc;
	if ((if_match != NULL && strcmp(if_match, now.etag) != 0) || offset > now.size)
		return changed(s3, key);
	if (st != NULL)
		*st = now;
	return AERO_STORE_OK;
}

int aero_s3_get_fd(void *state, const char *key, int fd, uint64_t offset, const char *if_match,
                   struct aero_store_stat *st, const struct aero_store_progress *progress)
{
	struct aero_s3 *s3 = state;
	if (aero_s3_key_check(key) != AERO_STORE_OK)
		return AERO_STORE_ERROR;
	if (if_match != NULL && (strlen(if_match) >= sizeof(st->etag) ||
	                         strpbrk(if_match, "\r\n") != NULL || if_match[0] == '\0')) {
		aero_error_set("'%s' is not an ETag from this store", if_match);
		return AERO_STORE_ERROR;
	}
	const bool parallel = s3->conf.concurrency > 1;
	const uint64_t chunk = s3->conf.part_size;
	char etag[sizeof(st->etag)];
	(void)snprintf(etag, sizeof(etag), "%s", if_match != NULL ? if_match : "");
	uint64_t pos = offset, mark = offset;
	/* The first range, resumed from where it broke off while it makes headway. */
	for (unsigned tries = 1;; tries++) {
		char range[RANGE_LINE];
		char *match = etag[0] != '\0' ? if_match_line(etag) : NULL;
		if (etag[0] != '\0' && match == NULL)
			return aero_error_set("out of memory");
		if (parallel)
			(void)snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64,
			               pos, pos + chunk - 1);
		else
			(void)snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-", pos);
		struct aero_s3_request req = get_request(key, fd, pos);
		size_t h = 0;
		if (parallel || pos > 0)
			req.headers[h++] = range;
		req.headers[h] = match;
		req.progress = progress;
		req.mark = &mark;
		struct aero_s3_response res;
		const int perform_rc = aero_s3_perform(s3, &req, &res);
		free(match);
		if (perform_rc < 0)
			return AERO_STORE_ERROR;
		int rc = 1; /* 1: go on below */
		if (res.status == 0 && res.written > 0 && res.etag[0] != '\0' &&
		    tries < AERO_S3_TRIES && aero_s3_retryable(&res)) {
			pos += res.written;
			(void)snprintf(etag, sizeof(etag), "%s", res.etag);
			rc = 2; /* resume */
		} else if (res.status == 412) {
			rc = changed(s3, key);
		} else if (res.status == 416) {
			rc = get_past_end(s3, key, pos, etag[0] != '\0' ? etag : NULL, st);
		} else if (res.status == 200 && pos > 0) {
			aero_error_set(
			        "the S3 endpoint %s ignored a Range header; it cannot resume",
			        s3->conf.endpoint);
			rc = AERO_STORE_ERROR;
		} else if (res.status != 200 && res.status != 206) {
			rc = aero_s3_fail(s3, &req, &res);
		}
		if (rc != 1) {
			aero_s3_response_free(&res);
			if (rc == 2)
				continue;
			return rc;
		}
		pos += res.written;
		const uint64_t total = res.status == 206 && res.has_total ? res.total : pos;
		(void)snprintf(etag, sizeof(etag), "%s", res.etag);
		aero_s3_response_free(&res);
		rc = AERO_STORE_OK;
		if (pos < total) {
			if (etag[0] == '\0') {
				aero_error_set(
				        "S3 gave no ETag for s3://%s/%s%s, which a download in "
				        "parts needs",
				        s3->conf.bucket, s3->conf.prefix, key);
				return AERO_STORE_ERROR;
			}
			struct download dl = {.s3 = s3,
			                      .key = key,
			                      .fd = fd,
			                      .start = pos,
			                      .total = total,
			                      .chunk = chunk,
			                      .progress = progress};
			rc = get_rest(&dl, etag);
		}
		if (rc == AERO_STORE_OK && st != NULL) {
			st->size = total;
			(void)snprintf(st->etag, sizeof(st->etag), "%s", etag);
		}
		return rc;
	}
}
