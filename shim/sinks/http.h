/* HTTP for the tracker sinks: one libcurl handle per sink (connections are
 * reused), bounded answers, deadlines, and the retry rules every tracker
 * shares. */
#ifndef AERO_SINKS_HTTP_H
#define AERO_SINKS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct aero_http;

struct aero_http_request {
	const char *method; /* "GET", "POST", "PUT" */
	const char *url;
	const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
	const char *body;           /* may be NULL */
	size_t body_len;
	bool no_auth; /* leave the sink's credentials out (signed upload URLs) */
};

struct aero_http_response {
	long status; /* the HTTP status, or 0 when no answer came (error says why) */
	char *body;  /* the answer, NUL-terminated; free with aero_http_response_free */
	size_t len;
	long retry_after_ms; /* from Retry-After (seconds or an HTTP date); -1 when absent */
	char error[256];     /* for status 0: what went wrong on the way */
};

/* Opens a handle whose requests carry basic (user, password) or bearer
 * credentials, when given. NULL when out of memory. */
struct aero_http *aero_http_open(const char *user, const char *password, const char *bearer);

/* Verifies TLS against ca_file instead of the CA bundle found by default, or
 * (insecure) not at all; the choice is the caller's to record. */
void aero_http_tls(struct aero_http *http, const char *ca_file, bool insecure);

/* Performs one request within the timeout (AERO_HTTP_TIMEOUT, default 60 s).
 * Fills *res in every case; returns 0 when an answer (any status) came. */
int aero_http_perform(struct aero_http *http, const struct aero_http_request *req,
                      struct aero_http_response *res);

/* Frees the answer's body. */
void aero_http_response_free(struct aero_http_response *res);

/* Whether a failed request may succeed when tried again: no answer, 408, 429,
 * and 5xx except 501. Everything else is final. */
bool aero_http_retryable(long status);

/* text with every byte outside RFC 3986's unreserved set
 * percent-encoded; NULL when out of memory. */
char *aero_http_escape(const char *text);

/* Closes the handle. */
void aero_http_close(struct aero_http *http);

/* Global libcurl set-up, once per process before any thread uses it. */
int aero_http_global_init(void);

#endif
