/* The s3:// backend: a store in an S3 bucket (or any service that speaks its
 * API), below an optional prefix. Uploads are in s3_put.c, downloads in
 * s3_get.c, listings in s3_list.c; this file opens the store and does the
 * small calls. */
#include "error.h"
#include "s3_ops.h"
#include "s3_xml.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

/* curl_global_init is not thread-safe in libcurl 7.88: once per process. */
static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int aero_s3_key_check(const char *key)
{
	bool ok = key[0] != '\0' && key[0] != '/';
	for (const char *p = key; ok && *p != '\0';) {
		const size_t len = strcspn(p, "/");
		ok = len > 0 && !(len == 1 && p[0] == '.') &&
		     !(len == 2 && p[0] == '.' && p[1] == '.');
		p += len;
		if (*p == '/')
			p++;
		if (ok && *p == '\0' && p[-1] == '/')
			ok = false;
	}
	if (!ok) {
		aero_error_set("store key '%s' is not a relative path without '.' or '..'", key);
		return AERO_STORE_ERROR;
	}
	return AERO_STORE_OK;
}

static void s3_close(void *state)
{
	struct aero_s3 *s3 = state;
	if (s3 == NULL)
		return;
	if (s3->curl != NULL)
		curl_easy_cleanup(s3->curl);
	free(s3->token);
	aero_s3_conf_free(&s3->conf);
	free(s3);
}

static int s3_open(const char *url, void **state)
{
	*state = NULL;
	if (pthread_once(&curl_once, curl_init) != 0 || curl_init_result != CURLE_OK) {
		aero_error_set("cannot initialise libcurl");
		return AERO_STORE_ERROR;
	}
	struct aero_s3 *s3 = calloc(1, sizeof(*s3));
	if (s3 == NULL) {
		aero_error_set("out of memory");
		return AERO_STORE_ERROR;
	}
	int rc = aero_s3_conf_load(&s3->conf, url);
	const struct aero_s3_conf *conf = &s3->conf;
	if (rc == AERO_STORE_OK && conf->session_token != NULL &&
	    strpbrk(conf->session_token, "\r\n") != NULL) {
		aero_error_set("AWS_SESSION_TOKEN holds a line break: set it to the token alone");
		rc = AERO_STORE_DENIED;
	}
	if (rc == AERO_STORE_OK) {
		if (conf->session_token != NULL)
			s3->token =
			        aero_s3_concat("x-amz-security-token: ", conf->session_token, "");
		s3->curl = curl_easy_init();
		if (s3->curl == NULL || (conf->session_token != NULL && s3->token == NULL)) {
			aero_error_set("out of memory");
			rc = AERO_STORE_ERROR;
		}
	}
	if (rc != AERO_STORE_OK) {
		s3_close(s3);
		return rc;
	}
	*state = s3;
	return AERO_STORE_OK;
}

static struct aero_s3_request request_of(const char *method, const char *key)
{
	struct aero_s3_request req;
	memset(&req, 0, sizeof(req));
	req.method = method;
	req.key = key;
	req.body_fd = -1;
	req.out_fd = -1;
	return req;
}

/* Whether a HEAD's 404 for a key means that the bucket is missing: asks the
 * bucket itself, once per handle while it is there. */
static bool bucket_missing(struct aero_s3 *s3)
{
	if (s3->bucket_seen)
		return false;
	struct aero_s3_request req = request_of("HEAD", NULL);
	struct aero_s3_response res;
	const bool answered = aero_s3_perform(s3, &req, &res) == 0;
	s3->bucket_seen = answered && res.status == 200;
	aero_s3_response_free(&res);
	return answered && res.status == 404;
}

/* A HEAD answer has no body, hence no reason; a one-byte GET says why. */
static int head_refused(struct aero_s3 *s3, const struct aero_s3_request *head,
                        const struct aero_s3_response *head_res)
{
	struct aero_s3_request req = request_of("GET", head->key);
	req.headers[0] = "Range: bytes=0-0";
	req.answer_max = 4096;
	struct aero_s3_response res;
	int rc;
	if (aero_s3_perform(s3, &req, &res) == 0 && (res.status == 401 || res.status == 403))
		rc = aero_s3_fail(s3, &req, &res);
	else
		rc = aero_s3_fail(s3, head, head_res);
	aero_s3_response_free(&res);
	return rc;
}

int aero_s3_head(void *state, const char *key, struct aero_store_stat *st)
{
	struct aero_s3 *s3 = state;
	if (aero_s3_key_check(key) != AERO_STORE_OK)
		return AERO_STORE_ERROR;
	struct aero_s3_request req = request_of("HEAD", key);
	struct aero_s3_response res;
	if (aero_s3_perform(s3, &req, &res) < 0)
		return AERO_STORE_ERROR;
	int rc = AERO_STORE_OK;
	if (res.status == 200 && res.has_length) {
		s3->bucket_seen = true;
		if (st != NULL) {
			st->size = res.content_length;
			(void)snprintf(st->etag, sizeof(st->etag), "%s", res.etag);
		}
	} else if (res.status == 404 && bucket_missing(s3)) {
		struct aero_s3_response nobucket = {.status = 404};
		nobucket.body = strdup("<Error><Code>NoSuchBucket</Code></Error>");
		nobucket.len = nobucket.body != NULL ? strlen(nobucket.body) : 0;
		rc = aero_s3_fail(s3, &req, &nobucket);
		aero_s3_response_free(&nobucket);
	} else if (res.status == 401 || res.status == 403) {
		rc = head_refused(s3, &req, &res);
	} else {
		rc = aero_s3_fail(s3, &req, &res);
	}
	aero_s3_response_free(&res);
	return rc;
}

static int s3_get_bytes(void *state, const char *key, size_t max, char **data, size_t *len)
{
	struct aero_s3 *s3 = state;
	*data = NULL;
	*len = 0;
	if (aero_s3_key_check(key) != AERO_STORE_OK)
		return AERO_STORE_ERROR;
	struct aero_s3_request req = request_of("GET", key);
	req.answer_max = max > 0 ? max : 1;
	struct aero_s3_response res;
	if (aero_s3_perform(s3, &req, &res) < 0)
		return AERO_STORE_ERROR;
	int rc = AERO_STORE_OK;
	if (res.status == 200 && res.len <= max) {
		*data = res.body != NULL ? res.body : calloc(1, 1);
		*len = res.len;
		res.body = NULL;
		if (*data == NULL) {
			aero_error_set("out of memory");
			rc = AERO_STORE_ERROR;
		}
	} else if (res.too_big || res.status == 200) {
		aero_error_set("s3://%s/%s%s is larger than %zu bytes", s3->conf.bucket,
		               s3->conf.prefix, key, max);
		rc = AERO_STORE_ERROR;
	} else {
		rc = aero_s3_fail(s3, &req, &res);
	}
	aero_s3_response_free(&res);
	return rc;
}

static int s3_remove(void *state, const char *key)
{
	struct aero_s3 *s3 = state;
	/* S3 answers 204 whether or not the key was there: ask first. */
	int rc = aero_s3_head(s3, key, NULL);
	if (rc != AERO_STORE_OK)
		return rc;
	struct aero_s3_request req = request_of("DELETE", key);
	struct aero_s3_response res;
	if (aero_s3_perform(s3, &req, &res) < 0)
		return AERO_STORE_ERROR;
	if (res.status < 200 || res.status > 299)
		rc = aero_s3_fail(s3, &req, &res);
	aero_s3_response_free(&res);
	return rc;
}

const struct aero_store_backend aero_store_s3_backend = {
        .scheme = "s3",
        .open = s3_open,
        .put_fd = aero_s3_put_fd,
        .put_bytes = aero_s3_put_bytes,
        .get_fd = aero_s3_get_fd,
        .get_bytes = s3_get_bytes,
        .head = aero_s3_head,
        .list = aero_s3_list,
        .exists = aero_s3_exists,
        .remove = s3_remove,
        .close = s3_close,
};
