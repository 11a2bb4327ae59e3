/* One S3 request over libcurl. libcurl 7.88 signs the path and query exactly
 * as given and only the headers set here (plus host and x-amz-date), so the
 * URL is built already canonical and x-amz-content-sha256 is always sent. */
#include "s3_http.h"

#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Error answers that arrive instead of an object are small. */
#define ERROR_ANSWER_MAX (64u << 10)
/* Bigger buffers than libcurl's defaults: fewer callbacks, faster transfers. */
#define RECEIVE_BUFFER (512L << 10)
#define UPLOAD_BUFFER (1L << 20)

static const char unsigned_payload[] = "UNSIGNED-PAYLOAD";

char *aero_s3_escape(const char *text, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	const size_t len = strlen(text);
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	char *out = malloc(len * 3 + 1);
	if (out == NULL)
		return NULL;
	char *o = out;
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		const unsigned char c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 0xF];
		}
	}
	*o = '\0';
	return out;
}

static char *build_url(const struct aero_s3 *s3, const struct aero_s3_request *req)
{
	char *path = NULL;
	if (req->key != NULL) {
		const size_t len = strlen(s3->conf.prefix) + strlen(req->key) + 1;
		char *full = malloc(len);
		if (full == NULL)
			return NULL;
		(void)snprintf(full, len, "%s%s", s3->conf.prefix, req->key);
		path = aero_s3_escape(full, true);
		free(full);
		if (path == NULL)
			return NULL;
	}
	/* Path-style bucket URLs have no trailing '/'; virtual-hosted ones
	 * need "/" as their path. */
	const char *slash = req->key != NULL || !s3->conf.path_style ? "/" : "";
	const char *query = req->query != NULL ? req->query : "";
	const size_t len = strlen(s3->base) + strlen(slash) + (path != NULL ? strlen(path) : 0) +
	                   strlen(query) + 2;
	char *url = malloc(len);
	if (url != NULL)
		(void)snprintf(url, len, "%s%s%s%s%s", s3->base, slash, path != NULL ? path : "",
		               query[0] != '\0' ? "?" : "", query);
	free(path);
	return url;
}

static void progress_note(const struct aero_s3_transfer *t, uint64_t position)
{
	const struct aero_store_progress *p = t->req.progress;
	if (p == NULL || p->advance == NULL || t->req.mark == NULL || position <= *t->req.mark)
		return;
	p->advance(p->ctx, position - *t->req.mark);
	*t->req.mark = position;
}

/* Whether [data, data + n) is the header name: its value's bounds. */
static bool header_is(const char *data, size_t n, const char *name, const char **value, size_t *len)
{
	const size_t name_len = strlen(name);
	if (n <= name_len || data[name_len] != ':' || strncasecmp(data, name, name_len) != 0)
		return false;
	const char *v = data + name_len + 1;
	size_t l = n - name_len - 1;
	while (l > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		l--;
	}
	while (l > 0 && (v[l - 1] == '\r' || v[l - 1] == '\n' || v[l - 1] == ' '))
		l--;
	*value = v;
	*len = l;
	return true;
}

static bool number_of(const char *text, size_t len, uint64_t *out)
{
	char digits[24];
	if (len == 0 || len >= sizeof(digits) || strspn(text, "0123456789") < len)
		return false;
	memcpy(digits, text, len);
	digits[len] = '\0';
	errno = 0;
	const unsigned long long value = strtoull(digits, NULL, 10);
	if (errno != 0)
		return false;
	*out = value;
	return true;
}

static size_t on_header(char *data, size_t size, size_t count, void *user)
{
	struct aero_s3_transfer *t = user;
	struct aero_s3_response *res = &t->res;
	const size_t n = size * count;
	const char *value;
	size_t len;
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new answer (after "100 Continue"): forget the last one's. */
		res->etag[0] = '\0';
		res->bucket_region[0] = '\0';
		res->has_length = res->has_total = false;
		t->status_known = false;
	} else if (header_is(data, n, "etag", &value, &len)) {
		if (len < sizeof(res->etag)) {
			memcpy(res->etag, value, len);
			res->etag[len] = '\0';
		}
	} else if (header_is(data, n, "content-length", &value, &len)) {
		res->has_length = number_of(value, len, &res->content_length);
	} else if (header_is(data, n, "content-range", &value, &len)) {
		const char *slash = memchr(value, '/', len);
		if (slash != NULL)
			res->has_total = number_of(slash + 1, len - (size_t)(slash + 1 - value),
			                           &res->total);
	} else if (header_is(data, n, "x-amz-bucket-region", &value, &len)) {
		if (len < sizeof(res->bucket_region) &&
		    strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") >= len) {
			memcpy(res->bucket_region, value, len);
			res->bucket_region[len] = '\0';
		}
	}
	return n;
}

static size_t keep_in_memory(struct aero_s3_transfer *t, const char *data, size_t n, size_t max)
{
	struct aero_s3_response *res = &t->res;
	if (n > max || res->len > max - n) {
		res->too_big = true;
		return 0; /* aborts the transfer */
	}
	if (res->len + n + 1 > t->body_cap) {
		/* Doubling keeps a large listing from being copied once per chunk. */
		size_t cap = t->body_cap > 0 ? t->body_cap : 4096;
		while (cap < res->len + n + 1)
			cap = cap > SIZE_MAX / 2 ? res->len + n + 1 : cap * 2;
		char *grown = realloc(res->body, cap);
		if (grown == NULL)
			return 0;
		res->body = grown;
		t->body_cap = cap;
	}
	memcpy(res->body + res->len, data, n);
	res->len += n;
	res->body[res->len] = '\0';
	return n;
}

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
	struct aero_s3_transfer *t = user;
	struct aero_s3_response *res = &t->res;
	const size_t n = size * count;
	if (!t->status_known) {
		(void)curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &res->status);
		t->status_known = true;
	}
	if (t->req.out_fd < 0)
		return keep_in_memory(
		        t, data, n, t->req.answer_max > 0 ? t->req.answer_max : AERO_S3_ANSWER_MAX);
	if (res->status < 200 || res->status > 299)
		return keep_in_memory(t, data, n, ERROR_ANSWER_MAX);
	for (size_t done = 0; done < n;) {
		const ssize_t w = pwrite(t->req.out_fd, data + done, n - done,
		                         (off_t)(t->req.out_offset + res->written));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			res->io_error = w < 0 ? errno : EIO;
			return 0;
		}
		done += (size_t)w;
		res->written += (uint64_t)w;
	}
	progress_note(t, t->req.out_offset + res->written);
	return n;
}

static size_t on_read(char *buf, size_t size, size_t count, void *user)
{
	struct aero_s3_transfer *t = user;
	const uint64_t left = t->req.body_len - t->sent;
	size_t n = size * count;
	if (n > left)
		n = (size_t)left;
	if (n == 0)
		return 0;
	if (t->req.body_fd >= 0) {
		ssize_t got;
		do
			got = pread(t->req.body_fd, buf, n, (off_t)(t->req.body_offset + t->sent));
		while (got < 0 && errno == EINTR);
		if (got <= 0) {
			/* 0: the file is shorter than it was said to be. */
			t->res.io_error = got < 0 ? errno : EIO;
			return CURL_READFUNC_ABORT;
		}
		n = (size_t)got;
	} else {
		memcpy(buf, (const char *)t->req.body + t->sent, n);
	}
	t->sent += n;
	progress_note(t, t->req.body_offset + t->sent);
	return n;
}

/* libcurl rewinds a body it has to send again (after a redirect or a refused
 * "Expect: 100-continue"). */
static int on_seek(void *user, curl_off_t offset, int origin)
{
	struct aero_s3_transfer *t = user;
	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > t->req.body_len)
		return CURL_SEEKFUNC_CANTSEEK;
	t->sent = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

static int add_header(struct aero_s3_transfer *t, const char *line)
{
	struct curl_slist *more = curl_slist_append(t->headers, line);
	if (more == NULL)
		return -1;
	t->headers = more;
	return 0;
}

static int build_headers(struct aero_s3_transfer *t)
{
	const char *hash = t->req.payload_sha256 != NULL ? t->req.payload_sha256 : unsigned_payload;
	char line[96];
	if (strlen(hash) > 64)
		return -1;
	(void)snprintf(line, sizeof(line), "x-amz-content-sha256: %s", hash);
	if (add_header(t, line) < 0 || (t->s3->token != NULL && add_header(t, t->s3->token) < 0))
		return -1;
	for (size_t i = 0;
	     i < sizeof(t->req.headers) / sizeof(t->req.headers[0]) && t->req.headers[i] != NULL;
	     i++)
		if (add_header(t, t->req.headers[i]) < 0)
			return -1;
	return 0;
}

static void set_method(struct aero_s3_transfer *t)
{
	CURL *c = t->curl;
	const char *method = t->req.method;
	if (strcmp(method, "HEAD") == 0) {
		(void)curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "PUT") == 0) {
		(void)curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		(void)curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)t->req.body_len);
	} else if (strcmp(method, "POST") == 0) {
		(void)curl_easy_setopt(c, CURLOPT_POST, 1L);
		(void)curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->req.body_len);
	} else if (strcmp(method, "GET") == 0) {
		(void)curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		(void)curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
}

int aero_s3_transfer_begin(struct aero_s3 *s3, CURL *curl, const struct aero_s3_request *req,
                           struct aero_s3_transfer *t)
{
	memset(t, 0, sizeof(*t));
	t->s3 = s3;
	t->curl = curl;
	t->req = *req;
	t->url = build_url(s3, req);
	if (t->url == NULL || build_headers(t) < 0) {
		curl_slist_free_all(t->headers);
		free(t->url);
		t->headers = NULL;
		t->url = NULL;
		return aero_error_set("out of memory");
	}
	const struct aero_s3_conf *conf = &s3->conf;
	CURL *c = curl;
	curl_easy_reset(c);
	(void)curl_easy_setopt(c, CURLOPT_URL, t->url);
	(void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Keys are taken as they are: "a/../b" is a name, not a path to tidy. */
	(void)curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_AWS_SIGV4, conf->sigv4);
	(void)curl_easy_setopt(c, CURLOPT_USERNAME, conf->access_key);
	(void)curl_easy_setopt(c, CURLOPT_PASSWORD, conf->secret_key);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
	(void)curl_easy_setopt(c, CURLOPT_USERAGENT, "aeromancy/" AERO_VERSION);
	(void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	/* No overall deadline (objects may be large): give up on a stalled one. */
	(void)curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	(void)curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	(void)curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	(void)curl_easy_setopt(c, CURLOPT_BUFFERSIZE, RECEIVE_BUFFER);
	(void)curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER);
	(void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->res.curl_error);
	(void)curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	(void)curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	(void)curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
	(void)curl_easy_setopt(c, CURLOPT_READDATA, t);
	(void)curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
	(void)curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
	if (conf->ca_file != NULL)
		(void)curl_easy_setopt(c, CURLOPT_CAINFO, conf->ca_file);
	if (conf->ca_dir != NULL)
		(void)curl_easy_setopt(c, CURLOPT_CAPATH, conf->ca_dir);
	set_method(t);
	if (getenv("AERO_S3_CURL_VERBOSE") != NULL)
		(void)curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	return 0;
}

void aero_s3_transfer_end(struct aero_s3_transfer *t, CURLcode result)
{
	struct aero_s3_response *res = &t->res;
	res->result = result;
	if (result == CURLE_OK)
		(void)curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &res->status);
	else
		res->status = 0;
	if (result != CURLE_OK && res->curl_error[0] == '\0')
		(void)snprintf(res->curl_error, sizeof(res->curl_error), "%s",
		               curl_easy_strerror(result));
	/* The handle must not point into t once t is gone. */
	(void)curl_easy_setopt(t->curl, CURLOPT_ERRORBUFFER, NULL);
	(void)curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(t->headers);
	free(t->url);
	t->headers = NULL;
	t->url = NULL;
}

void aero_s3_response_free(struct aero_s3_response *res)
{
	free(res->body);
	res->body = NULL;
	res->len = 0;
}

bool aero_s3_retryable(const struct aero_s3_response *res)
{
	if (res->io_error != 0 || res->too_big)
		return false;
	if (res->status == 0) {
		switch (res->result) {
		case CURLE_URL_MALFORMAT:
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_BAD_FUNCTION_ARGUMENT:
		case CURLE_OUT_OF_MEMORY:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_ABORTED_BY_CALLBACK:
			return false;
		default:
			return true;
		}
	}
	return res->status == 408 || res->status == 429 ||
	       (res->status >= 500 && res->status != 501);
}

long aero_s3_backoff_ms(unsigned tries)
{
	const unsigned shift = tries < 6 ? tries : 6;
	const long base = 100L << shift;
	/* Jitter keeps parallel parts from retrying in step; not for secrecy. */
	return base / 2 + (long)(random() % (base / 2 + 1)); // NOLINT(cert-msc30-c,cert-msc50-cpp)
}

int aero_s3_perform(struct aero_s3 *s3, const struct aero_s3_request *req,
                    struct aero_s3_response *res)
{
	memset(res, 0, sizeof(*res));
	for (unsigned tries = 1;; tries++) {
		struct aero_s3_transfer t;
		if (aero_s3_transfer_begin(s3, s3->curl, req, &t) < 0)
			return -1;
		const CURLcode rc = curl_easy_perform(s3->curl);
		aero_s3_transfer_end(&t, rc);
		*res = t.res;
		if (tries >= AERO_S3_TRIES || res->written > 0 || !aero_s3_retryable(res))
			return 0;
		aero_s3_response_free(res);
		const long ms = aero_s3_backoff_ms(tries - 1);
		const struct timespec pause = {.tv_sec = ms / 1000,
		                               .tv_nsec = (ms % 1000) * 1000000L};
		(void)nanosleep(&pause, NULL);
	}
}
