/* The Docker Engine API's transport. */
#include "engine.h"

#include "error.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The newest API version aero-launch speaks; the engine's, when older, wins.
 * Docker 29 refuses versions below 1.44; Debian 12's 20.10 speaks 1.41. */
#define OUR_API_MAJOR 1
#define OUR_API_MINOR 45

struct aero_engine {
	char *socket; /* unix socket path, or NULL for TCP */
	char *base;   /* "http://localhost" or "http://host:port" */
	char *where;  /* for messages: "unix:///var/run/docker.sock" */
	char version[32];
};

int aero_buf_append(struct aero_buf *buf, const char *data, size_t len)
{
	if (buf->len + len + 1 > buf->cap) {
		size_t cap = buf->cap > 0 ? buf->cap : 1024;
		while (cap < buf->len + len + 1)
			cap *= 2;
		char *bigger = realloc(buf->data, cap);
		if (bigger == NULL)
			return -1;
		buf->data = bigger;
		buf->cap = cap;
	}
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	buf->data[buf->len] = '\0';
	return 0;
}

int aero_buf_lines(struct aero_buf *buf, const char *data, size_t len,
                   void (*line)(void *ctx, const char *text), void *ctx)
{
	if (aero_buf_append(buf, data, len) < 0)
		return -1;
	char *start = buf->data;
	char *const end = buf->data + buf->len;
	char *newline;
	while ((newline = memchr(start, '\n', (size_t)(end - start))) != NULL) {
		*newline = '\0';
		line(ctx, start);
		start = newline + 1;
	}
	const size_t rest = (size_t)(end - start);
	memmove(buf->data, start, rest);
	buf->len = rest;
	buf->data[rest] = '\0';
	return 0;
}

void aero_buf_free(struct aero_buf *buf)
{
	free(buf->data);
	memset(buf, 0, sizeof(*buf));
}

static size_t collect(char *data, size_t size, size_t count, void *userdata)
{
	return aero_buf_append(userdata, data, size * count) == 0 ? size * count : 0;
}

const char *aero_engine_version(const struct aero_engine *eng)
{
	return eng->version;
}

char *aero_engine_escape(const char *text)
{
	char *escaped = curl_easy_escape(NULL, text, 0);
	char *copy = escaped != NULL ? strdup(escaped) : NULL;
	curl_free(escaped);
	return copy;
}

static CURL *handle_for_url(const struct aero_engine *eng, const char *method, const char *url)
{
	CURL *curl = curl_easy_init();
	if (curl == NULL) {
		aero_error_set("out of memory");
		return NULL;
	}
	if ((eng->socket != NULL &&
	     curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, eng->socket) != CURLE_OK) ||
	    curl_easy_setopt(curl, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L) != CURLE_OK) {
		curl_easy_cleanup(curl);
		aero_error_set("cannot set up a request to the engine");
		return NULL;
	}
	return curl;
}

CURL *aero_engine_handle(const struct aero_engine *eng, const char *method, const char *path)
{
	const size_t len = strlen(eng->base) + strlen(eng->version) + strlen(path) + 4;
	char *url = malloc(len);
	if (url == NULL) {
		aero_error_set("out of memory");
		return NULL;
	}
	(void)snprintf(url, len, "%s/v%s%s", eng->base, eng->version, path);
	CURL *curl = handle_for_url(eng, method, url);
	free(url);
	return curl;
}

static int perform(CURL *curl, const char *json, long *status, struct aero_buf *response)
{
	struct curl_slist *headers = NULL;
	struct aero_buf ignored = {0};
	struct aero_buf *sink = response != NULL ? response : &ignored;
	if (json != NULL) {
		headers = curl_slist_append(NULL, "Content-Type: application/json");
		if (headers == NULL)
			return aero_error_set("out of memory");
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json);
	}
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, sink);
	const CURLcode rc = curl_easy_perform(curl);
	curl_slist_free_all(headers);
	aero_buf_free(&ignored);
	if (rc != CURLE_OK)
		return aero_error_set("%s", curl_easy_strerror(rc));
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

int aero_engine_request(const struct aero_engine *eng, const char *method, const char *path,
                        const char *json, long *status, struct aero_buf *response)
{
	CURL *curl = aero_engine_handle(eng, method, path);
	if (curl == NULL)
		return -1;
	const int rc = perform(curl, json, status, response);
	curl_easy_cleanup(curl);
	if (rc < 0)
		return aero_error_set("the Docker engine at %s stopped answering: %s", eng->where,
		                      aero_error_last());
	return 0;
}

const char *aero_engine_message(struct aero_buf *body)
{
	if (body->data == NULL)
		return "no details";
	cJSON *json = cJSON_Parse(body->data);
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(json, "message");
	if (cJSON_IsString(msg)) {
		/* Keep only the message, in place: it is shorter than the body. */
		const size_t len = strlen(msg->valuestring);
		memmove(body->data, msg->valuestring, len + 1);
		body->len = len;
	}
	cJSON_Delete(json);
	while (body->len > 0 && body->data[body->len - 1] == '\n')
		body->data[--body->len] = '\0';
	return body->data;
}

/* The Api-Version header of the ping's answer. */
static size_t read_header(char *data, size_t size, size_t count, void *userdata)
{
	struct aero_engine *eng = userdata;
	const size_t len = size * count;
	static const char name[] = "api-version:";
	if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *v = data + sizeof(name) - 1;
		const char *end = data + len;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		size_t n = 0;
		while (v + n < end && n < sizeof(eng->version) - 1 &&
		       (v[n] == '.' || (v[n] >= '0' && v[n] <= '9')))
			n++;
		memcpy(eng->version, v, n);
		eng->version[n] = '\0';
	}
	return len;
}

static void negotiate(struct aero_engine *eng)
{
	char *dot = NULL;
	char *end = NULL;
	const unsigned long major = strtoul(eng->version, &dot, 10);
	const unsigned long minor = *dot == '.' ? strtoul(dot + 1, &end, 10) : 0;
	if (end == NULL || end == dot + 1 || major > OUR_API_MAJOR ||
	    (major == OUR_API_MAJOR && minor > OUR_API_MINOR))
		(void)snprintf(eng->version, sizeof(eng->version), "%d.%d", OUR_API_MAJOR,
		               OUR_API_MINOR);
}

static int where_to_connect(struct aero_engine *eng)
{
	const char *host = getenv("DOCKER_HOST");
	if (host == NULL || *host == '\0')
		host = "unix:///var/run/docker.sock";
	eng->where = strdup(host);
	if (strncmp(host, "unix://", 7) == 0) {
		eng->socket = strdup(host + 7);
		eng->base = strdup("http://localhost");
	} else if (strncmp(host, "tcp://", 6) == 0) {
		const size_t len = strlen(host) + 2;
		eng->base = malloc(len);
		if (eng->base != NULL)
			(void)snprintf(eng->base, len, "http://%s", host + 6);
	} else {
		aero_error_set(
		        "DOCKER_HOST='%s' is neither unix://PATH nor tcp://HOST:PORT "
		        "(aero-launch speaks plain HTTP; use a unix socket or an SSH tunnel)",
		        host);
		return -AERO_EXIT_ENGINE;
	}
	if (eng->where == NULL || eng->base == NULL ||
	    (strncmp(host, "unix://", 7) == 0 && eng->socket == NULL)) {
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	return 0;
}

int aero_engine_open(struct aero_engine **out)
{
	*out = NULL;
	struct aero_engine *eng = calloc(1, sizeof(*eng));
	if (eng == NULL) {
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	int rc = where_to_connect(eng);
	if (rc < 0) {
		aero_engine_free(eng);
		return rc;
	}
	const size_t len = strlen(eng->base) + sizeof("/_ping");
	char *url = malloc(len);
	CURL *curl = NULL;
	if (url != NULL) {
		(void)snprintf(url, len, "%s/_ping", eng->base);
		curl = handle_for_url(eng, "GET", url);
	}
	free(url);
	long status = 0;
	if (curl != NULL) {
		curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, read_header);
		curl_easy_setopt(curl, CURLOPT_HEADERDATA, eng);
		curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
		rc = perform(curl, NULL, &status, NULL);
		curl_easy_cleanup(curl);
	}
	if (curl == NULL || rc < 0 || status != 200) {
		const int denied = eng->socket != NULL && access(eng->socket, F_OK) == 0 &&
		                   access(eng->socket, R_OK | W_OK) != 0;
		if (denied)
			aero_error_set(
			        "cannot reach the Docker engine at %s: permission denied: add "
			        "yourself to the 'docker' group ('sudo usermod -aG docker $USER', "
			        "then log in again) or run as root",
			        eng->where);
		else
			aero_error_set(
			        "cannot reach the Docker engine at %s (%s): start it ('sudo "
			        "systemctl start docker', or 'sudo dockerd &'), or set DOCKER_HOST "
			        "to where it listens; or run without a container with --dev",
			        eng->where,
			        curl == NULL || rc < 0 ? aero_error_last()
			                               : "it did not answer 200");
		aero_engine_free(eng);
		return -AERO_EXIT_ENGINE;
	}
	negotiate(eng);
	*out = eng;
	return 0;
}

void aero_engine_free(struct aero_engine *eng)
{
	if (eng == NULL)
		return;
	free(eng->socket);
	free(eng->base);
	free(eng->where);
	free(eng);
}
