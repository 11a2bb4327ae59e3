/* HTTP for the tracker sinks, over libcurl. */
#include "http.h"

#include "error.h"
#include "log.h"
#include "parse.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Answers larger than this are cut (the trackers' answers are small). */
#define ANSWER_MAX (8u << 20)

/* CA bundles of the common distributions, for a static binary in an image
 * whose libcurl defaults do not fit. */
static const char *const ca_files[] = {
        "/etc/ssl/certs/ca-certificates.crt", /* Debian, Ubuntu, Alpine */
        "/etc/pki/tls/certs/ca-bundle.crt",   /* Fedora, RHEL */
        "/etc/ssl/ca-bundle.pem",             /* openSUSE */
        "/etc/ssl/cert.pem",                  /* Alpine, macOS-like layouts */
        NULL,
};

struct aero_http {
	CURL *curl;
	char *userpwd; /* "user:password" for basic authentication, or NULL */
	char *bearer;  /* "Authorization: Bearer ..." or NULL */
	char *ca_file;
	bool insecure;
	long timeout_ms;
};

int aero_http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK
	               ? 0
	               : aero_error_set("cannot initialise libcurl");
}

static char *join(const char *a, const char *b, const char *c)
{
	const size_t len = strlen(a) + strlen(b) + strlen(c) + 1;
	char *s = malloc(len);
	if (s != NULL)
		(void)snprintf(s, len, "%s%s%s", a, b, c);
	return s;
}

/* The CA bundle: SSL_CERT_FILE, else the first common one present, else
 * libcurl's own default (NULL). */
static const char *default_ca_file(void)
{
	const char *env = getenv("SSL_CERT_FILE");
	if (env != NULL && env[0] != '\0')
		return env;
	for (size_t i = 0; ca_files[i] != NULL; i++)
		if (access(ca_files[i], R_OK) == 0)
			return ca_files[i];
	return NULL;
}

/* A failure to verify the server, which the CA bundle may fix. */
static bool is_tls_failure(CURLcode rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
	       rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_ISSUER_ERROR;
}

struct aero_http *aero_http_open(const char *user, const char *password, const char *bearer)
{
	struct aero_http *http = calloc(1, sizeof(*http));
	if (http == NULL)
		return NULL;
	http->curl = curl_easy_init();
	long timeout = 60000;
	const char *env = getenv("AERO_HTTP_TIMEOUT");
	if (env != NULL && aero_parse_duration_ms(env, 24L * 3600 * 1000, &timeout) < 0) {
		aero_log_warn("AERO_HTTP_TIMEOUT: %s; using 60s", aero_error_last());
		timeout = 60000;
	}
	http->timeout_ms = timeout > 0 ? timeout : 60000;
	bool ok = http->curl != NULL;
	if (ok && user != NULL)
		ok = (http->userpwd = join(user, ":", password != NULL ? password : "")) != NULL;
	if (ok && bearer != NULL && user == NULL)
		ok = (http->bearer = join("Authorization: Bearer ", bearer, "")) != NULL;
	if (!ok) {
		aero_http_close(http);
		return NULL;
	}
	return http;
}

void aero_http_tls(struct aero_http *http, const char *ca_file, bool insecure)
{
	free(http->ca_file);
	http->ca_file = ca_file != NULL ? strdup(ca_file) : NULL;
	http->insecure = insecure;
}

void aero_http_close(struct aero_http *http)
{
	if (http == NULL)
		return;
	if (http->curl != NULL)
		curl_easy_cleanup(http->curl);
	free(http->userpwd);
	free(http->bearer);
	free(http->ca_file);
	free(http);
}

static size_t on_body(char *data, size_t size, size_t count, void *user)
{
	struct aero_http_response *res = user;
	const size_t n = size * count;
	if (res->len + n > ANSWER_MAX)
		return 0; /* aborts the transfer: the answer cannot be ours */
	char *grown = realloc(res->body, res->len + n + 1);
	if (grown == NULL)
		return 0;
	memcpy(grown + res->len, data, n);
	res->len += n;
	grown[res->len] = '\0';
	res->body = grown;
	return n;
}

/* The longest Retry-After delay followed, in seconds (a week). */
#define RETRY_AFTER_MAX_S (7L * 24 * 3600)

/* Retry-After: delay-seconds or an HTTP date. */
static size_t on_header(char *data, size_t size, size_t count, void *user)
{
	struct aero_http_response *res = user;
	const size_t n = size * count;
	static const char name[] = "retry-after:";
	if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		char value[128];
		size_t start = sizeof(name) - 1;
		while (start < n && (data[start] == ' ' || data[start] == '\t'))
			start++;
		size_t len = n - start;
		while (len > 0 && (data[start + len - 1] == '\r' || data[start + len - 1] == '\n' ||
		                   data[start + len - 1] == ' '))
			len--;
		if (len > 0 && len < sizeof(value)) {
			memcpy(value, data + start, len);
			value[len] = '\0';
			long seconds;
			if (aero_parse_int(value, 0, RETRY_AFTER_MAX_S, &seconds) == 0) {
				res->retry_after_ms = seconds * 1000;
			} else {
				const time_t when = curl_getdate(value, NULL);
				const time_t now = time(NULL);
				/* A date further ahead than the longest delay in seconds is
				 * ignored as that would be: curl reads years up to the
				 * billions, whose milliseconds no long holds. */
				if (when != (time_t)-1 && when - now <= RETRY_AFTER_MAX_S)
					res->retry_after_ms =
					        when > now ? (long)(when - now) * 1000 : 0;
			}
		}
	}
	return n;
}

int aero_http_perform(struct aero_http *http, const struct aero_http_request *req,
                      struct aero_http_response *res)
{
	memset(res, 0, sizeof(*res));
	res->retry_after_ms = -1;
	CURL *c = http->curl;
	curl_easy_reset(c);
	struct curl_slist *headers = NULL;
	bool ok = true;
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL && ok; i++) {
		struct curl_slist *more = curl_slist_append(headers, req->headers[i]);
		ok = more != NULL;
		if (ok)
			headers = more;
	}
	if (ok && http->bearer != NULL && !req->no_auth) {
		struct curl_slist *more = curl_slist_append(headers, http->bearer);
		ok = more != NULL;
		if (ok)
			headers = more;
	}
	/* No "Expect: 100-continue" round trip before bodies. */
	if (ok) {
		struct curl_slist *more = curl_slist_append(headers, "Expect:");
		ok = more != NULL;
		if (ok)
			headers = more;
	}
	if (!ok) {
		curl_slist_free_all(headers);
		(void)snprintf(res->error, sizeof(res->error), "out of memory");
		return -1;
	}
	const char *ca = http->ca_file != NULL ? http->ca_file : default_ca_file();
	(void)curl_easy_setopt(c, CURLOPT_URL, req->url);
	(void)curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	                       http->timeout_ms < 10000 ? http->timeout_ms : 10000L);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, http->timeout_ms);
	(void)curl_easy_setopt(c, CURLOPT_USERAGENT, "aeromancy/" AERO_VERSION);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, res);
	(void)curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	(void)curl_easy_setopt(c, CURLOPT_HEADERDATA, res);
	(void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, res->error);
	(void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	const char *ca_dir = getenv("SSL_CERT_DIR");
	if (ca != NULL)
		(void)curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (ca_dir != NULL && ca_dir[0] != '\0')
		(void)curl_easy_setopt(c, CURLOPT_CAPATH, ca_dir);
	if (http->insecure) {
		(void)curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		(void)curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (http->userpwd != NULL && !req->no_auth) {
		(void)curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		(void)curl_easy_setopt(c, CURLOPT_USERPWD, http->userpwd);
	}
	if (req->body != NULL) {
		(void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
		(void)curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "GET") == 0) {
		(void)curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	const CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(headers);
	if (rc != CURLE_OK) {
		if (res->error[0] == '\0')
			(void)snprintf(res->error, sizeof(res->error), "%s",
			               curl_easy_strerror(rc));
		if (is_tls_failure(rc)) {
			const size_t used = strlen(res->error);
			(void)snprintf(res->error + used, sizeof(res->error) - used,
			               "; set SSL_CERT_FILE to the CA certificates that signed the "
			               "server's certificate");
		}
		res->status = 0;
		return -1;
	}
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &res->status);
	if (res->body == NULL) {
		res->body = calloc(1, 1);
		if (res->body == NULL) {
			(void)snprintf(res->error, sizeof(res->error), "out of memory");
			res->status = 0;
			return -1;
		}
	}
	return 0;
}

void aero_http_response_free(struct aero_http_response *res)
{
	free(res->body);
	res->body = NULL;
	res->len = 0;
}

bool aero_http_retryable(long status)
{
	return status == 0 || status == 408 || status == 429 || (status >= 500 && status != 501);
}

char *aero_http_escape(const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	const size_t len = strlen(text);
	char *out = malloc(3 * len + 1);
	if (out == NULL)
		return NULL;
	char *p = out;
	for (const unsigned char *s = (const unsigned char *)text; *s != '\0'; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_' || *s == '~') {
			*p++ = (char)*s;
		} else {
			*p++ = '%';
			*p++ = hex[*s >> 4];
			*p++ = hex[*s & 15];
		}
	}
	*p = '\0';
	return out;
}
