/* One S3 request over libcurl, signed with SigV4 by libcurl itself: the URL
 * and headers that libcurl 7.88 signs correctly (keys percent-encoded, query
 * sorted, x-amz-content-sha256 always given), bodies read from memory or with
 * pread from a file, answers written with pwrite or kept in memory, retries
 * of transient failures, and the mapping of S3's errors to store statuses. */
#ifndef AERO_STORE_S3_HTTP_H
#define AERO_STORE_S3_HTTP_H

#include "s3_conf.h"
#include "store.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tries of one request (or part) that fails transiently. */
#define AERO_S3_TRIES 4
/* Answers kept in memory (XML, errors) are cut beyond this. */
#define AERO_S3_ANSWER_MAX (16u << 20)

/* An open s3:// store. */
struct aero_s3 {
	struct aero_s3_conf conf;
	char *base;  /* "{endpoint}/{bucket}" or "https://{bucket}.s3.{region}.amazonaws.com" */
	CURL *curl;  /* kept between requests, so that connections are reused */
	char *token; /* "x-amz-security-token: ..." or NULL */
};

struct aero_s3_request {
	const char *method;         /* "GET", "HEAD", "PUT", "POST", "DELETE" */
	const char *key;            /* below the store's prefix; NULL for the bucket */
	const char *query;          /* "k=v&k=v" sorted by name, values escaped; or NULL */
	const char *headers[4];     /* more "Name: value" lines, NULL-terminated */
	const char *payload_sha256; /* hex SHA-256 of the body; NULL: UNSIGNED-PAYLOAD */
	/* The body of a PUT or POST: len bytes of data, or of body_fd (pread)
	 * from body_offset when body_fd >= 0. */
	const void *body;
	int body_fd;
	uint64_t body_offset;
	uint64_t body_len;
	/* When out_fd >= 0, a 2xx answer's body goes there (pwrite) from
	 * out_offset on; anything else is kept in memory, up to answer_max
	 * (AERO_S3_ANSWER_MAX when 0). */
	int out_fd;
	uint64_t out_offset;
	size_t answer_max;
	/* Progress is reported for bytes of the body (or answer) beyond *mark,
	 * a position in body_fd (or out_fd); *mark moves with it, so that bytes
	 * sent again by a retry are counted once. */
	const struct aero_store_progress *progress;
	uint64_t *mark;
};

struct aero_s3_response {
	long status;     /* the HTTP status; 0 when no answer came */
	CURLcode result; /* libcurl's verdict */
	char curl_error[CURL_ERROR_SIZE];
	char *body; /* the answer (or error) in memory, NUL-terminated; may be NULL */
	size_t len;
	char etag[160]; /* ETag, as sent (quotes included); "" when absent or too long */
	uint64_t content_length;
	uint64_t total; /* the object's size from Content-Range */
	bool has_length, has_total;
	char bucket_region[64]; /* x-amz-bucket-region, for a wrong-region hint */
	uint64_t written;       /* bytes written to out_fd */
	int io_error;           /* errno of a failed pread or pwrite; 0 when none */
	bool too_big;           /* the answer passed answer_max */
};

/* A request under way on one easy handle (single or in a multi handle). */
struct aero_s3_transfer {
	struct aero_s3 *s3;
	CURL *curl;
	struct aero_s3_request req;
	struct aero_s3_response res;
	struct curl_slist *headers;
	char *url;
	uint64_t sent;   /* body bytes handed to libcurl */
	size_t body_cap; /* bytes allocated for res.body */
	bool status_known;
};

/* Sets curl up for req (curl_easy_reset first). 0, or -1 when out of memory
 * (aero_error set). */
int aero_s3_transfer_begin(struct aero_s3 *s3, CURL *curl, const struct aero_s3_request *req,
                           struct aero_s3_transfer *t);

/* Records how the transfer ended (result from libcurl) and frees its request
 * state; t->res stays for the caller. */
void aero_s3_transfer_end(struct aero_s3_transfer *t, CURLcode result);

/* Performs req on the store's own handle, trying again after transient
 * failures (AERO_S3_TRIES in all) while nothing has been written to out_fd.
 * Fills *res (free it with aero_s3_response_free); returns 0, or -1 when out
 * of memory. */
int aero_s3_perform(struct aero_s3 *s3, const struct aero_s3_request *req,
                    struct aero_s3_response *res);

void aero_s3_response_free(struct aero_s3_response *res);

/* Whether a request may succeed when tried again: no answer, 408, 429, 5xx
 * except 501. */
bool aero_s3_retryable(const struct aero_s3_response *res);

/* Milliseconds to wait before try number tries + 1 (exponential, jittered). */
long aero_s3_backoff_ms(unsigned tries);

/* Records in aero_error why req failed, naming the fix, and returns the
 * store status: NOT_FOUND, NO_BUCKET, DENIED or ERROR. */
int aero_s3_fail(const struct aero_s3 *s3, const struct aero_s3_request *req,
                 const struct aero_s3_response *res);

/* text percent-encoded for a SigV4 URL: every byte but A-Z a-z 0-9 - . _ ~
 * (and '/' when keep_slash) as %XX; NULL when out of memory. */
char *aero_s3_escape(const char *text, bool keep_slash);

/* The <Code> of an S3 error answer, malloc'd; NULL when there is none. */
char *aero_s3_error_code(const struct aero_s3_response *res);

#endif
