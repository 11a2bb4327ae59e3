/* A deliberately small HTTP helper: one POST at a time, the reply read as
 * newline-delimited JSON as it streams (the engine's progress format). */
#include "engine_push.h"

#include "error.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Longest reply line kept: progress lines are short, error bodies a few KiB. */
#define LINE_MAX_BYTES ((size_t)1024 * 1024)

struct reply {
	char *line; /* the line being received */
	size_t used;
	size_t size;
	char *error;  /* the first error the engine reported */
	char *digest; /* aux.Digest of a push */
	bool oom;
};

static void remember(char **slot, const char *text, struct reply *r)
{
	if (*slot != NULL || text == NULL)
		return;
	*slot = strdup(text);
	r->oom = r->oom || *slot == NULL;
}

/* One JSON line of a reply: {"status"}, {"error", "errorDetail"}, {"aux"}, {"message"}. */
static void handle_line(struct reply *r, const char *text)
{
	cJSON *doc = cJSON_Parse(text);
	if (doc == NULL) {
		if (text[0] != '\0')
			remember(&r->error, text, r);
		return;
	}
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(doc, "error");
	const cJSON *message = cJSON_GetObjectItemCaseSensitive(doc, "message");
	const cJSON *aux = cJSON_GetObjectItemCaseSensitive(doc, "aux");
	const cJSON *digest = cJSON_GetObjectItemCaseSensitive(aux, "Digest");
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(doc, "status");
	if (cJSON_IsString(error))
		remember(&r->error, error->valuestring, r);
	if (cJSON_IsString(message))
		remember(&r->error, message->valuestring, r);
	if (cJSON_IsString(digest))
		remember(&r->digest, digest->valuestring, r);
	if (cJSON_IsString(status) && cJSON_GetObjectItemCaseSensitive(doc, "progress") == NULL)
		aero_log_info("%s", status->valuestring);
	cJSON_Delete(doc);
}

/* curl's CURLOPT_WRITEFUNCTION signature, which passes data as char *. */
// cppcheck-suppress constParameter
static size_t on_data(char *data, size_t size, size_t count, void *userdata) // NOLINT
{
	struct reply *r = userdata;
	const size_t total = size * count;
	for (size_t i = 0; i < total; i++) {
		if (data[i] == '\n') {
			r->line[r->used] = '\0';
			handle_line(r, r->line);
			r->used = 0;
			continue;
		}
		if (r->used + 1 >= r->size) {
			if (r->size >= LINE_MAX_BYTES) {
				r->oom = true;
				return 0;
			}
			char *bigger = realloc(r->line, r->size * 2);
			if (bigger == NULL) {
				r->oom = true;
				return 0; /* curl stops the transfer */
			}
			r->line = bigger;
			r->size *= 2;
		}
		r->line[r->used++] = data[i];
	}
	return total;
}

static void reply_clear(struct reply *r)
{
	free(r->error);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

/* The unix socket of DOCKER_HOST; tcp:// engines are not spoken to. */
static int engine_socket(const char **path)
{
	const char *host = getenv("DOCKER_HOST");
	if (host == NULL || host[0] == '\0') {
		*path = "/var/run/docker.sock";
		return 0;
	}
	if (strncmp(host, "unix://", 7) != 0 || host[7] == '\0')
		return aero_error_set("DOCKER_HOST=%s: only a unix socket (unix:///PATH) is "
		                      "supported; unset it to use /var/run/docker.sock",
		                      host);
	*path = host + 7;
	return 0;
}

/* POSTs to path (unversioned: the engine answers in its own current API version)
 * and reads the reply into *r; *http_status is the reply's status. */
static int post(const char *path, const char *auth, struct reply *r, long *http_status)
{
	const char *socket_path = NULL;
	if (engine_socket(&socket_path) < 0)
		return -1;
	memset(r, 0, sizeof(*r));
	r->size = 4096;
	r->line = malloc(r->size);
	char *url = NULL;
	char *auth_header = NULL;
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = NULL;
	int rc = -1;
	if (asprintf(&url, "http://localhost%s", path) < 0)
		url = NULL;
	if (auth != NULL && asprintf(&auth_header, "X-Registry-Auth: %s", auth) < 0)
		auth_header = NULL;
	if (r->line == NULL || curl == NULL || url == NULL ||
	    (auth != NULL && auth_header == NULL)) {
		aero_error_set("out of memory");
		goto out;
	}
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	headers = h;
	if (h != NULL && auth_header != NULL)
		headers = curl_slist_append(h, auth_header);
	if (headers == NULL) {
		curl_slist_free_all(h);
		aero_error_set("out of memory");
		goto out;
	}
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	const CURLcode code = curl_easy_perform(curl);
	if (r->used > 0) { /* a last line with no newline */
		r->line[r->used] = '\0';
		handle_line(r, r->line);
	}
	if (r->oom) {
		aero_error_set("out of memory (or a reply line over 1 MiB) reading the engine");
	} else if (code != CURLE_OK) {
		aero_error_set("cannot reach the Docker engine at %s: %s; is dockerd running, "
		               "and is DOCKER_HOST right?",
		               socket_path, curl_easy_strerror(code));
	} else {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, http_status);
		rc = 0;
	}
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	free(auth_header);
	free(url);
	free(r->line);
	r->line = NULL;
	if (rc < 0)
		reply_clear(r);
	return rc;
}

/* Escapes text for a query string; NULL with aero_error when out of memory. */
static char *escaped(const char *text)
{
	char *out = curl_easy_escape(NULL, text, 0);
	if (out == NULL)
		aero_error_set("out of memory");
	return out;
}

int aero_engine_tag(const char *source, const char *repository, const char *tag)
{
	char *repo_q = escaped(repository);
	char *tag_q = repo_q != NULL ? escaped(tag) : NULL;
	char *path = NULL;
	int rc = -1;
	if (tag_q != NULL &&
	    asprintf(&path, "/images/%s/tag?repo=%s&tag=%s", source, repo_q, tag_q) < 0) {
		path = NULL;
		aero_error_set("out of memory");
	}
	struct reply r;
	long status = 0;
	if (path != NULL && post(path, NULL, &r, &status) == 0) {
		if (status == 201 || status == 200)
			rc = 0;
		else if (status == 404)
			aero_error_set("no image '%s' here to push; build it, or name another with "
			               "--image",
			               source);
		else
			aero_error_set("the engine refused to tag %s as %s:%s: %s", source,
			               repository, tag,
			               r.error != NULL ? r.error : "no reason given");
		reply_clear(&r);
	}
	curl_free(repo_q);
	curl_free(tag_q);
	free(path);
	return rc;
}

/* What registries say when the credentials are missing or wrong, or the
 * repository is not the user's (Docker Hub says "denied" for both). */
static bool is_denial(const char *error)
{
	static const char *const words[] = {"denied", "unauthorized", "authentication required",
	                                    "no basic auth credentials", "forbidden"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(error, words[i]) != NULL)
			return true;
	return false;
}

int aero_engine_push(const char *repository, const char *tag, const char *auth, char **digest)
{
	*digest = NULL;
	char *tag_q = escaped(tag);
	char *path = NULL;
	if (tag_q == NULL || asprintf(&path, "/images/%s/push?tag=%s", repository, tag_q) < 0) {
		curl_free(tag_q);
		return aero_error_set("out of memory");
	}
	curl_free(tag_q);
	struct reply r;
	long status = 0;
	const int posted = post(path, auth, &r, &status);
	free(path);
	if (posted < 0)
		return -1;
	int rc = 0;
	/* The engine says so with a 404, or (20.10) with an error in a 200 stream. */
	if (status == 404 ||
	    (r.error != NULL && strstr(r.error, "does not exist locally") != NULL)) {
		rc = aero_error_set("no image %s:%s here to push; tag one so (or give --image)",
		                    repository, tag);
	} else if (status != 200 || r.error != NULL) {
		const char *why = r.error != NULL ? r.error : "no reason given";
		rc = is_denial(why) ? AERO_PUSH_DENIED : -1;
		aero_error_set("%s", why);
	} else if (r.digest == NULL) {
		rc = aero_error_set("the push of %s:%s ended with no digest from the registry",
		                    repository, tag);
	} else {
		*digest = r.digest;
		r.digest = NULL;
	}
	reply_clear(&r);
	return rc;
}
