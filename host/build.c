/* POST /build with the context as a chunked body, read a buffer at a time
 * from the commit, and the reply's newline-delimited JSON progress. A failed
 * build still answers 200: the failure is an "error" line, reported here with
 * the step that failed. The classic builder (version=1) is used, since
 * BuildKit needs a gRPC session. */
#include "build.h"

#include "registry_auth.h"

#include "error.h"
#include "log.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct progress {
	struct aero_context *ctx;
	bool quiet;
	bool context_failed;
	struct aero_buf line; /* an incomplete line of the reply */
	char *last_step;      /* "Step 2/3 : RUN make" */
	char *error;
	char *image_id;
	bool oom;
};

static size_t send_context(char *buf, size_t size, size_t count, void *userdata)
{
	struct progress *p = userdata;
	const ssize_t n = aero_context_read(p->ctx, buf, size * count);
	if (n < 0) {
		p->context_failed = true;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)n;
}

static void replace(char **slot, const char *text, size_t len, struct progress *p)
{
	char *copy = strndup(text, len);
	if (copy == NULL) {
		p->oom = true;
		return;
	}
	free(*slot);
	*slot = copy;
}

static void on_stream(struct progress *p, const char *text)
{
	if (!p->quiet)
		fputs(text, stderr);
	if (strncmp(text, "Step ", 5) == 0)
		replace(&p->last_step, text, strcspn(text, "\n"), p);
}

static void on_line(struct progress *p, const char *line)
{
	cJSON *json = cJSON_Parse(line);
	if (json == NULL)
		return; /* not JSON: nothing the engine promised */
	const cJSON *stream = cJSON_GetObjectItemCaseSensitive(json, "stream");
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(json, "status");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(json, "error");
	const cJSON *detail = cJSON_GetObjectItemCaseSensitive(json, "errorDetail");
	const cJSON *aux = cJSON_GetObjectItemCaseSensitive(json, "aux");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(aux, "ID");
	if (cJSON_IsString(stream))
		on_stream(p, stream->valuestring);
	if (cJSON_IsString(status) && !p->quiet)
		fprintf(stderr, "%s\n", status->valuestring);
	if (cJSON_IsString(id))
		replace(&p->image_id, id->valuestring, strlen(id->valuestring), p);
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(detail, "message");
	if (!cJSON_IsString(msg))
		msg = error;
	if (cJSON_IsString(msg)) {
		const char *m = msg->valuestring;
		size_t len = strlen(m);
		while (len > 0 && m[len - 1] == '\n')
			len--;
		replace(&p->error, m, len, p);
	}
	cJSON_Delete(json);
}

static void on_stream_line(void *ctx, const char *text)
{
	on_line(ctx, text);
}

static size_t receive(char *data, size_t size, size_t count, void *userdata)
{
	struct progress *p = userdata;
	const size_t len = size * count;
	if (aero_buf_lines(&p->line, data, len, on_stream_line, p) < 0) {
		p->oom = true;
		return 0;
	}
	return len;
}

/* The query string; networkmode (`docker build --network`) only when asked,
 * so that the engine's default stands otherwise. */
static char *build_path(const struct aero_build_request *req)
{
	char *labels_json = cJSON_PrintUnformatted(req->labels);
	char *labels = labels_json != NULL ? aero_engine_escape(labels_json) : NULL;
	char *tag = aero_engine_escape(req->tag);
	char *dockerfile = aero_engine_escape(req->dockerfile);
	char *network = aero_engine_escape(req->network != NULL ? req->network : "");
	char *path = NULL;
	if (labels != NULL && tag != NULL && dockerfile != NULL && network != NULL) {
		const size_t len =
		        strlen(labels) + strlen(tag) + strlen(dockerfile) + strlen(network) + 128;
		path = malloc(len);
		if (path != NULL)
			(void)snprintf(
			        path, len,
			        "/build?t=%s&labels=%s&dockerfile=%s&rm=1&forcerm=1&version=1"
			        "%s%s",
			        tag, labels, dockerfile, network[0] != '\0' ? "&networkmode=" : "",
			        network);
	}
	free(labels_json);
	free(labels);
	free(tag);
	free(dockerfile);
	free(network);
	return path;
}

/* Sorts a failure into the class the user has to act on. */
static int classify(const struct progress *p)
{
	const char *e = p->error;
	const bool at_from = p->last_step == NULL || strstr(p->last_step, " : FROM ") != NULL ||
	                     strstr(p->last_step, " : from ") != NULL;
	const bool denied = strstr(e, "unauthorized") != NULL || strstr(e, "denied") != NULL ||
	                    strstr(e, "no basic auth credentials") != NULL ||
	                    strstr(e, "authentication required") != NULL;
	const bool missing = strstr(e, "does not exist") != NULL ||
	                     strstr(e, "not found") != NULL || strstr(e, "No such image") != NULL;
	if (at_from && (missing || !denied)) {
		aero_error_set(
		        "the base image is missing (%s): %s; build it first (aeromancy/base: "
		        "'docker build -f Dockerfile.base -t aeromancy/base .' in Aeromancy's "
		        "source) or pull it with 'docker pull'",
		        p->last_step != NULL ? p->last_step : "FROM", e);
		return -AERO_EXIT_BASE_IMAGE;
	}
	if (denied) {
		aero_error_set("the registry denied access (%s): %s; log in with 'docker login' or "
		               "check the image's name",
		               p->last_step != NULL ? p->last_step : "build", e);
		return -AERO_EXIT_DENIED;
	}
	aero_error_set("the image build failed at '%s': %s; fix the Dockerfile or the step, "
	               "commit, and run again",
	               p->last_step != NULL ? p->last_step : "the start", e);
	return -AERO_EXIT_BUILD;
}

int aero_image_build(const struct aero_engine *eng, struct aero_context *ctx,
                     const struct aero_build_request *req, char **image_id)
{
	*image_id = NULL;
	struct progress p = {.ctx = ctx, .quiet = req->quiet};
	char *path = build_path(req);
	CURL *curl = path != NULL ? aero_engine_handle(eng, "POST", path) : NULL;
	free(path);
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/x-tar");
	struct curl_slist *more = headers != NULL ? curl_slist_append(headers, "Expect:") : NULL;
	headers = more != NULL ? curl_slist_append(more, "Transfer-Encoding: chunked") : NULL;
	/* Credentials for the registries FROM pulls from, as `docker build` sends them. */
	char *registries = NULL;
	if (aero_registry_config(&registries) < 0)
		aero_log_warn("no registry credentials for the build: %s", aero_error_last());
	char *registry_header = NULL;
	if (registries != NULL && headers != NULL &&
	    asprintf(&registry_header, "X-Registry-Config: %s", registries) >= 0) {
		more = curl_slist_append(headers, registry_header);
		headers = more != NULL ? more : headers;
	}
	free(registries);
	free(registry_header);
	if (curl == NULL || headers == NULL) {
		curl_easy_cleanup(curl);
		curl_slist_free_all(more);
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, send_context);
	curl_easy_setopt(curl, CURLOPT_READDATA, &p);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, receive);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &p);
	curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
	curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
	const CURLcode rc = curl_easy_perform(curl);
	long status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	if (p.line.len > 0)
		on_line(&p, p.line.data); /* a last line without its newline */
	int out = 0;
	if (p.context_failed || p.oom) {
		if (p.oom)
			aero_error_set("out of memory");
		out = -AERO_EXIT_INTERNAL;
	} else if (rc != CURLE_OK) {
		aero_error_set("the build's connection to the engine failed: %s",
		               curl_easy_strerror(rc));
		out = -AERO_EXIT_ENGINE;
	} else if (status != 200) {
		aero_error_set("the engine refused the build (HTTP %ld): %s", status,
		               aero_engine_message(&p.line));
		out = status == 500 ? -AERO_EXIT_BUILD : -AERO_EXIT_INTERNAL;
	} else if (p.error != NULL) {
		out = classify(&p);
	} else if (p.image_id == NULL) {
		aero_error_set("the engine finished the build without naming the image");
		out = -AERO_EXIT_BUILD;
	}
	if (out == 0) {
		*image_id = p.image_id;
		p.image_id = NULL;
	}
	free(p.image_id);
	free(p.last_step);
	free(p.error);
	aero_buf_free(&p.line);
	return out;
}
