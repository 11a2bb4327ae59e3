/* The Docker Engine API over HTTP (libcurl): where the engine listens
 * (DOCKER_HOST, else /var/run/docker.sock), the API version both sides
 * speak, and plain requests. Streaming calls live in build.c and follow.c. */
#ifndef AERO_HOST_ENGINE_H
#define AERO_HOST_ENGINE_H

#include <curl/curl.h>
#include <stddef.h>

struct aero_engine;

/* A growing buffer for response bodies. */
struct aero_buf {
	char *data; /* NUL-terminated when not NULL */
	size_t len;
	size_t cap;
};

/* Appends bytes; -1 when out of memory. */
int aero_buf_append(struct aero_buf *buf, const char *data, size_t len);

/* Appends data to buf, then calls line(ctx, text) for each complete line
 * (its newline replaced by a NUL); what follows the last newline stays in buf.
 * -1 when out of memory. The engine's JSON streams come through here. */
int aero_buf_lines(struct aero_buf *buf, const char *data, size_t len,
                   void (*line)(void *ctx, const char *text), void *ctx);

/* Frees the buffer's memory. */
void aero_buf_free(struct aero_buf *buf);

/* Finds the engine and negotiates the API version with GET /_ping. 0, or
 * -AERO_EXIT_ENGINE with aero_error saying how to start it. */
int aero_engine_open(struct aero_engine **out);

/* The negotiated API version ("1.41"). */
const char *aero_engine_version(const struct aero_engine *eng);

/* A curl handle for METHOD path (path starts with '/', versioned here). NULL
 * with aero_error set on failure. */
CURL *aero_engine_handle(const struct aero_engine *eng, const char *method, const char *path);

/* One request with an optional JSON body; *status gets the HTTP status and
 * response (when not NULL) the body. 0, or -1 with aero_error set when the
 * engine could not be reached. */
int aero_engine_request(const struct aero_engine *eng, const char *method, const char *path,
                        const char *json, long *status, struct aero_buf *response);

/* The "message" of an error body, or the body itself; never NULL. */
const char *aero_engine_message(struct aero_buf *body);

/* URL-encodes text into a malloc'd string; NULL when out of memory. */
char *aero_engine_escape(const char *text);

/* Frees the engine handle. */
void aero_engine_free(struct aero_engine *eng);

#endif
