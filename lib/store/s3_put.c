/* Uploads to S3: one PUT below the multipart threshold, else a multipart
 * upload whose parts go up in parallel. Write-once puts send If-None-Match: *
 * (on the PUT, or on CompleteMultipartUpload), so that of racing writers
 * exactly one wins; an upload that fails is aborted, leaving no parts. */
#include "error.h"
#include "s3_ops.h"
#include "s3_parallel.h"
#include "s3_xml.h"
#include "sha256.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* S3's limit on the parts of one upload. */
#define MAX_PARTS 10000u
/* Conditional writes that lose a race with another may be told to try again. */
#define CONFLICT_TRIES 5

static const char if_none_match[] = "If-None-Match: *";

static void pause_ms(long ms)
{
	const struct timespec pause = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	(void)nanosleep(&pause, NULL);
}

static int exists(const struct aero_s3 *s3, const char *key)
{
	aero_error_set("s3://%s/%s%s already exists (objects are written once, never replaced)",
	               s3->conf.bucket, s3->conf.prefix, key);
	return AERO_STORE_EXISTS;
}

static bool is_conflict(const struct aero_s3_response *res)
{
	if (res->status != 409)
		return false;
	char *code = aero_s3_error_code(res);
	const bool conflict = code != NULL && strcmp(code, "ConditionalRequestConflict") == 0;
	free(code);
	return conflict;
}

/* One PUT of the whole body, described by body (the caller's request). */
static int put_single(struct aero_s3 *s3, struct aero_s3_request *req, unsigned flags)
{
	if (flags & AERO_STORE_IF_ABSENT)
		req->headers[0] = if_none_match;
	for (unsigned tries = 1;; tries++) {
		struct aero_s3_response res;
		if (aero_s3_perform(s3, req, &res) < 0)
			return AERO_STORE_ERROR;
		int rc = AERO_STORE_OK;
		if (res.status == 412 && (flags & AERO_STORE_IF_ABSENT)) {
			rc = exists(s3, req->key);
		} else if (is_conflict(&res) && tries < CONFLICT_TRIES) {
			aero_s3_response_free(&res);
			pause_ms(aero_s3_backoff_ms(tries));
			continue;
		} else if (res.status < 200 || res.status > 299) {
			rc = aero_s3_fail(s3, req, &res);
		}
		aero_s3_response_free(&res);
		return rc;
	}
}

int aero_s3_put_bytes(void *state, const char *key, const void *data, size_t len, unsigned flags)
{
	if (aero_s3_key_check(key) != AERO_STORE_OK)
		return AERO_STORE_ERROR;
	char sha256[65];
	const void *const parts[] = {data};
	const size_t lengths[] = {len};
	aero_sha256_hex(parts, lengths, 1, sha256);
	struct aero_s3_request req;
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.key = key;
	req.payload_sha256 = sha256;
	req.body = data;
	req.body_len = len;
	req.body_fd = -1;
	req.out_fd = -1;
	return put_single(state, &req, flags);
}

/* A multipart upload under way. */
struct upload {
	struct aero_s3 *s3;
	const char *key;
	int fd;
	uint64_t size;
	uint64_t part_size;
	size_t parts;
	char *upload_id; /* escaped for the query */
	char **queries;  /* per part: "partNumber=N&uploadId=ID" */
	char **etags;    /* per part, once it is up */
	uint64_t *marks; /* per part: how far progress was reported */
	const struct aero_store_progress *progress;
};

static struct aero_s3_request upload_request(const struct upload *up, const char *method,
                                             const char *query)
{
	struct aero_s3_request req;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.key = up->key;
	req.query = query;
	req.body_fd = -1;
	req.out_fd = -1;
	return req;
}

static int part_prepare(void *ctx, size_t job, struct aero_s3_request *req)
{
	struct upload *up = ctx;
	if (up->queries[job] == NULL) {
		const size_t len = strlen(up->upload_id) + 48;
		up->queries[job] = malloc(len);
		if (up->queries[job] == NULL) {
			aero_error_set("out of memory");
			return AERO_STORE_ERROR;
		}
		(void)snprintf(up->queries[job], len, "partNumber=%zu&uploadId=%s", job + 1,
		               up->upload_id);
	}
	const uint64_t offset = (uint64_t)job * up->part_size;
	*req = upload_request(up, "PUT", up->queries[job]);
	req->body_fd = up->fd;
	req->body_offset = offset;
	req->body_len = up->size - offset < up->part_size ? up->size - offset : up->part_size;
	req->progress = up->progress;
	req->mark = &up->marks[job];
	return 0;
}

static int part_finish(void *ctx, size_t job, const struct aero_s3_request *req,
                       const struct aero_s3_response *res)
{
	struct upload *up = ctx;
	if (res->status < 200 || res->status > 299)
		return aero_s3_fail(up->s3, req, res);
	if (res->etag[0] == '\0') {
		aero_error_set("S3 took part %zu of s3://%s/%s%s without giving its ETag", job + 1,
		               up->s3->conf.bucket, up->s3->conf.prefix, up->key);
		return AERO_STORE_ERROR;
	}
	up->etags[job] = strdup(res->etag);
	if (up->etags[job] == NULL) {
		aero_error_set("out of memory");
		return AERO_STORE_ERROR;
	}
	return 0;
}

static int upload_begin(struct upload *up)
{
	struct aero_s3_request req = upload_request(up, "POST", "uploads=");
	req.body = "";
	struct aero_s3_response res;
	if (aero_s3_perform(up->s3, &req, &res) < 0)
		return AERO_STORE_ERROR;
	int rc = AERO_STORE_OK;
	char *id = NULL;
	if (res.status != 200 || res.body == NULL)
		rc = aero_s3_fail(up->s3, &req, &res);
	else if ((id = aero_s3_xml_text(res.body, res.body + res.len, "UploadId")) == NULL ||
	         id[0] == '\0')
		rc = aero_s3_fail(up->s3, &req, &res);
	else if ((up->upload_id = aero_s3_escape(id, false)) == NULL)
		rc = aero_error_set("out of memory");
	free(id);
	aero_s3_response_free(&res);
	return rc;
}

/* <CompleteMultipartUpload> with every part's number and ETag. */
static char *complete_body(const struct upload *up, size_t *len)
{
	static const char head[] = "<CompleteMultipartUpload>";
	static const char tail[] = "</CompleteMultipartUpload>";
	static const char part_fmt[] = "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>";
	size_t total = sizeof(head) + sizeof(tail);
	for (size_t i = 0; i < up->parts; i++)
		total += sizeof(part_fmt) + 20 + strlen(up->etags[i]) * 6;
	char *xml = malloc(total);
	if (xml == NULL)
		return NULL;
	size_t used = (size_t)snprintf(xml, total, "%s", head);
	for (size_t i = 0; i < up->parts; i++) {
		/* ETags are quoted hex; escape anything XML would not take. */
		char *escaped = malloc(strlen(up->etags[i]) * 6 + 1);
		if (escaped == NULL) {
			free(xml);
			return NULL;
		}
		char *e = escaped;
		for (const char *p = up->etags[i]; *p != '\0'; p++) {
			const char *entity = *p == '&'   ? "&amp;"
			                     : *p == '<' ? "&lt;"
			                     : *p == '>' ? "&gt;"
			                                 : NULL;
			if (entity != NULL) {
				memcpy(e, entity, strlen(entity));
				e += strlen(entity);
			} else {
				*e++ = *p;
			}
		}
		*e = '\0';
		used += (size_t)snprintf(xml + used, total - used, part_fmt, i + 1, escaped);
		free(escaped);
	}
	used += (size_t)snprintf(xml + used, total - used, "%s", tail);
	*len = used;
	return xml;
}

/* S3 may answer 200 and then report an error in the body. */
static bool answer_is_error(const struct aero_s3_response *res)
{
	struct aero_s3_xml_span span;
	return res->body != NULL &&
	       aero_s3_xml_find(res->body, res->body + res->len, "Error", &span) != NULL;
}

static int upload_complete(struct upload *up, unsigned flags)
{
	size_t len = 0;
	char *xml = complete_body(up, &len);
	char *query = malloc(strlen(up->upload_id) + 16);
	int rc = AERO_STORE_OK;
	if (xml == NULL || query == NULL) {
		free(xml);
		free(query);
		return aero_error_set("out of memory");
	}
	(void)snprintf(query, strlen(up->upload_id) + 16, "uploadId=%s", up->upload_id);
	char sha256[65];
	const void *const parts[] = {xml};
	const size_t lengths[] = {len};
	aero_sha256_hex(parts, lengths, 1, sha256);
	struct aero_s3_request req = upload_request(up, "POST", query);
	req.body = xml;
	req.body_len = len;
	req.payload_sha256 = sha256;
	/* Without it, libcurl labels the body a form, and some servers parse it
	 * as one. */
	req.headers[0] = "Content-Type: application/xml";
	if (flags & AERO_STORE_IF_ABSENT)
		req.headers[1] = if_none_match;
	for (unsigned tries = 1;; tries++) {
		struct aero_s3_response res;
		if (aero_s3_perform(up->s3, &req, &res) < 0) {
			rc = AERO_STORE_ERROR;
			break;
		}
		const bool failed_late = res.status == 200 && answer_is_error(&res);
		const bool again = is_conflict(&res) || failed_late;
		if (res.status == 412 && (flags & AERO_STORE_IF_ABSENT))
			rc = exists(up->s3, up->key);
		else if (again && tries < CONFLICT_TRIES)
			rc = 1;
		else if (res.status != 200 || failed_late)
			rc = aero_s3_fail(up->s3, &req, &res);
		aero_s3_response_free(&res);
		if (rc != 1)
			break;
		rc = AERO_STORE_OK;
		pause_ms(aero_s3_backoff_ms(tries));
	}
	free(xml);
	free(query);
	return rc;
}

/* Best effort: the parts of a failed upload are not left to be billed. */
static void upload_abort(struct upload *up)
{
	char *query = malloc(strlen(up->upload_id) + 16);
	if (query == NULL)
		return;
	(void)snprintf(query, strlen(up->upload_id) + 16, "uploadId=%s", up->upload_id);
	struct aero_s3_request req = upload_request(up, "DELETE", query);
	struct aero_s3_response res;
	if (aero_s3_perform(up->s3, &req, &res) == 0)
		aero_s3_response_free(&res);
	free(query);
}

static void upload_free(struct upload *up)
{
	for (size_t i = 0; i < up->parts; i++) {
		if (up->queries != NULL)
			free(up->queries[i]);
		if (up->etags != NULL)
			free(up->etags[i]);
	}
	free(up->queries);
	free(up->etags);
	free(up->marks);
	free(up->upload_id);
}

static int put_multipart(struct aero_s3 *s3, const char *key, int fd, uint64_t size, unsigned flags,
                         const struct aero_store_progress *progress)
{
	/* Do not send gigabytes that If-None-Match would refuse at the end. */
	if (flags & AERO_STORE_IF_ABSENT) {
		const int rc = aero_s3_head(s3, key, NULL);
		if (rc == AERO_STORE_OK)
			return exists(s3, key);
		if (rc != AERO_STORE_NOT_FOUND)
			return rc;
	}
	struct upload up = {.s3 = s3, .key = key, .fd = fd, .size = size, .progress = progress};
	const uint64_t least = (size + MAX_PARTS - 1) / MAX_PARTS;
	up.part_size = s3->conf.part_size > least ? s3->conf.part_size : least;
	up.parts = (size_t)((size + up.part_size - 1) / up.part_size);
	up.queries = calloc(up.parts, sizeof(*up.queries));
	up.etags = calloc(up.parts, sizeof(*up.etags));
	up.marks = calloc(up.parts, sizeof(*up.marks));
	if (up.queries == NULL || up.etags == NULL || up.marks == NULL) {
		upload_free(&up);
		aero_error_set("out of memory");
		return AERO_STORE_ERROR;
	}
	for (size_t i = 0; i < up.parts; i++)
		up.marks[i] = (uint64_t)i * up.part_size;
	int rc = upload_begin(&up);
	if (rc == AERO_STORE_OK) {
		const struct aero_s3_jobs jobs = {.count = up.parts,
		                                  .prepare = part_prepare,
		                                  .finish = part_finish,
		                                  .ctx = &up};
		rc = aero_s3_jobs_run(s3, &jobs);
		if (rc == AERO_STORE_OK)
			rc = upload_complete(&up, flags);
		if (rc != AERO_STORE_OK)
			upload_abort(&up);
	}
	upload_free(&up);
	return rc;
}

int aero_s3_put_fd(void *state, const char *key, int fd, uint64_t size, const char *sha256,
                   unsigned flags, const struct aero_store_progress *progress)
{
	struct aero_s3 *s3 = state;
	if (aero_s3_key_check(key) != AERO_STORE_OK)
		return AERO_STORE_ERROR;
	if (sha256 != NULL && (strlen(sha256) != 64 || strspn(sha256, "0123456789abcdef") != 64)) {
		aero_error_set("'%s' is not a SHA-256 in lowercase hex", sha256);
		return AERO_STORE_ERROR;
	}
	if (size >= s3->conf.multipart_threshold && size > 0)
		return put_multipart(s3, key, fd, size, flags, progress);
	uint64_t mark = 0;
	struct aero_s3_request req;
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.key = key;
	req.payload_sha256 = sha256;
	req.body_fd = fd;
	req.body_len = size;
	req.out_fd = -1;
	req.progress = progress;
	req.mark = &mark;
	return put_single(s3, &req, flags);
}
