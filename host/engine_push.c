/* Tag and push over engine.c's transport. The tag is one plain request; the
 * push's reply is newline-delimited JSON progress, read line by line as it
 * streams, in which a failed push is an "error" line of a 200 reply. */
#include "engine_push.h"

#include "error.h"
#include "log.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest reply line kept: progress lines are short, error bodies a few KiB. */
#define LINE_MAX_BYTES ((size_t)1024 * 1024)

struct reply {
	struct aero_buf line; /* the incomplete line being received */
	char *error;          /* the first error the engine reported */
	char *digest;         /* aux.Digest of the push */
	bool oom;
	bool too_long;
};

static void remember(char **slot, const char *text, struct reply *r)
{
	if (*slot != NULL || text == NULL)
		return;
	*slot = strdup(text);
	r->oom = r->oom || *slot == NULL;
}

/* One JSON line of a reply: {"status"}, {"error", "errorDetail"}, {"aux"}, {"message"}. */
static void on_line(struct reply *r, const char *text)
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

/* curl's CURLOPT_WRITEFUNCTION: complete lines are handled, the rest kept. */
static void on_stream_line(void *ctx, const char *text)
{
	on_line(ctx, text);
}

static size_t on_data(char *data, size_t size, size_t count, void *userdata)
{
	struct reply *r = userdata;
	const size_t total = size * count;
	if (aero_buf_lines(&r->line, data, total, on_stream_line, r) < 0) {
		r->oom = true;
		return 0; /* curl stops the transfer */
	}
	if (r->line.len > LINE_MAX_BYTES) {
		r->too_long = true;
		return 0;
	}
	return total;
}

static void reply_clear(struct reply *r)
{
	aero_buf_free(&r->line);
	free(r->error);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

int aero_image_tag(const struct aero_engine *eng, const char *source, const char *repository,
                   const char *tag)
{
	char *repo_q = aero_engine_escape(repository);
	char *tag_q = aero_engine_escape(tag);
	char *path = NULL;
	if (repo_q != NULL && tag_q != NULL &&
	    asprintf(&path, "/images/%s/tag?repo=%s&tag=%s", source, repo_q, tag_q) < 0)
		path = NULL;
	free(repo_q);
	free(tag_q);
	if (path == NULL) {
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	struct aero_buf response = {0};
	long status = 0;
	int rc = 0;
	if (aero_engine_request(eng, "POST", path, NULL, &status, &response) < 0) {
		rc = -AERO_EXIT_ENGINE;
	} else if (status == 404) {
		aero_error_set("no image '%s' here to push; build it, or name another with --image",
		               source);
		rc = -AERO_EXIT_BASE_IMAGE;
	} else if (status != 201 && status != 200) {
		aero_error_set("the engine refused to tag %s as %s:%s (HTTP %ld): %s", source,
		               repository, tag, status, aero_engine_message(&response));
		rc = -AERO_EXIT_INTERNAL;
	}
	aero_buf_free(&response);
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

/* Streams POST path into *r; *status is the reply's HTTP status. 0, or a
 * negative aero_launch_status with aero_error set. */
static int stream_push(const struct aero_engine *eng, const char *path, const char *auth,
                       struct reply *r, long *status)
{
	char *header = NULL;
	if (asprintf(&header, "X-Registry-Auth: %s", auth) < 0)
		header = NULL;
	struct curl_slist *headers = header != NULL ? curl_slist_append(NULL, header) : NULL;
	free(header);
	if (headers == NULL) {
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	CURL *curl = aero_engine_handle(eng, "POST", path);
	if (curl == NULL) {
		curl_slist_free_all(headers);
		return -AERO_EXIT_INTERNAL;
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	const CURLcode code = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	if (r->line.len > 0 && !r->oom && !r->too_long)
		on_line(r, r->line.data); /* a last line with no newline */
	if (r->oom || r->too_long) {
		aero_error_set(r->oom ? "out of memory reading the engine's progress"
		                      : "a line of the engine's progress is over 1 MiB");
		return -AERO_EXIT_INTERNAL;
	}
	if (code != CURLE_OK) {
		aero_error_set("the Docker engine stopped answering during the push: %s; is "
		               "dockerd still running?",
		               curl_easy_strerror(code));
		return -AERO_EXIT_ENGINE;
	}
	return 0;
}

/* Sorts a finished push's reply into the digest or the class of its failure. */
static int classify(struct reply *r, long status, const char *repository, const char *tag,
                    char **digest)
{
	/* Newer engines say there is no such image with a 404, 20.10 with an error
	 * line in a 200 reply. */
	if (status == 404 ||
	    (r->error != NULL && strstr(r->error, "does not exist locally") != NULL)) {
		aero_error_set("no image %s:%s here to push; tag one so (or give --image)",
		               repository, tag);
		return -AERO_EXIT_BASE_IMAGE;
	}
	if (status != 200 || r->error != NULL) {
		const char *why = r->error != NULL ? r->error : "no reason given";
		if (status != 200)
			aero_error_set("%s (HTTP %ld)", why, status);
		else
			aero_error_set("%s", why);
		return is_denial(why) ? -AERO_EXIT_DENIED : -AERO_EXIT_INTERNAL;
	}
	if (r->digest == NULL) {
		aero_error_set("the push of %s:%s ended with no digest from the registry",
		               repository, tag);
		return -AERO_EXIT_INTERNAL;
	}
	*digest = r->digest;
	r->digest = NULL;
	return 0;
}

int aero_image_push(const struct aero_engine *eng, const char *repository, const char *tag,
                    const char *auth, char **digest)
{
	*digest = NULL;
	char *tag_q = aero_engine_escape(tag);
	char *path = NULL;
	if (tag_q != NULL && asprintf(&path, "/images/%s/push?tag=%s", repository, tag_q) < 0)
		path = NULL;
	free(tag_q);
	if (path == NULL) {
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	struct reply r = {0};
	long status = 0;
	int rc = stream_push(eng, path, auth, &r, &status);
	free(path);
	if (rc == 0)
		rc = classify(&r, status, repository, tag, digest);
	reply_clear(&r);
	return rc;
}
