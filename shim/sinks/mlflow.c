/* The MLflow sink: MLflow's REST API (2.0). The experiment by name, created
 * when missing; a run with MLflow's system tags; params from the config;
 * metrics and system metrics through runs/log-batch within the server's
 * limits; the manifest and the console log as artifacts; the final status.
 * Protocol: doc/trackers.md.
 *
 * A metric's identity on the server is (key, timestamp, step, value), and the
 * timestamp is fixed when the row is recorded, so a batch sent twice is
 * stored once. */
#include "canonjson.h"
#include "error.h"
#include "files.h"
#include "http.h"
#include "log.h"
#include "redact.h"
#include "sink.h"
#include "sinkutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* runs/log-batch limits (mlflow/utils/validation.py). */
#define MAX_METRICS 1000
#define MAX_PARAMS 100
#define MAX_TAGS 100
#define MAX_BODY (1000u * 1000u - 4096u)
#define MAX_PARAM_VALUE 6000
#define MAX_TAG_VALUE 5000
#define MAX_KEY 250

struct mlflow {
	struct aero_http *http;
	char *api;      /* {tracking}/api/2.0/mlflow/ */
	char *tracking; /* the tracking URI without a trailing slash */
	char *shown;    /* tracking without credentials, for messages */
	bool warned_keys;
};

static void mlflow_close(void *sink)
{
	struct mlflow *m = sink;
	if (m == NULL)
		return;
	aero_http_close(m->http);
	free(m->api);
	free(m->tracking);
	free(m->shown);
	free(m);
}

static void *mlflow_open(struct aero_sink_ctx *ctx)
{
	(void)ctx;
	const char *uri = aero_sink_env("MLFLOW_TRACKING_URI");
	if (uri == NULL || (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0)) {
		char *shown = uri != NULL ? aero_url_without_credentials(uri) : NULL;
		aero_error_set(
		        "MLFLOW_TRACKING_URI must be the http(s) URL of an MLflow tracking server "
		        "(it is %s)",
		        shown != NULL ? shown : "unset");
		free(shown);
		return NULL;
	}
	struct mlflow *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		aero_error_set("out of memory");
		return NULL;
	}
	const char *user = aero_sink_env("MLFLOW_TRACKING_USERNAME");
	const char *password = aero_sink_env("MLFLOW_TRACKING_PASSWORD");
	const char *token = aero_sink_env("MLFLOW_TRACKING_TOKEN");
	m->tracking = strndup(uri, strlen(uri) - (uri[strlen(uri) - 1] == '/'));
	m->api = m->tracking != NULL ? malloc(strlen(m->tracking) + 32) : NULL;
	m->shown = m->tracking != NULL ? aero_url_without_credentials(m->tracking) : NULL;
	/* Basic wins when both are set, as in MLflow's client. */
	m->http = aero_http_open(user != NULL && password != NULL ? user : NULL, password, token);
	if (m->api == NULL || m->shown == NULL || m->http == NULL) {
		mlflow_close(m);
		aero_error_set("out of memory");
		return NULL;
	}
	(void)sprintf(m->api, "%s/api/2.0/mlflow/", m->tracking);
	const bool no_verify = aero_sink_mlflow_insecure_tls();
	aero_http_tls(m->http, aero_sink_env("MLFLOW_TRACKING_SERVER_CERT_PATH"), no_verify);
	if (no_verify)
		aero_log_warn(
		        "mlflow: MLFLOW_TRACKING_INSECURE_TLS=true: the server's certificate is "
		        "not checked");
	return m;
}

/* ---- requests ---- */

/* One call: method on api + endpoint with a JSON body (or none). The parsed
 * answer goes to *answer whatever the status, for the error code. */
static enum aero_sink_result call(struct mlflow *m, struct aero_sink_ctx *ctx, const char *method,
                                  const char *endpoint, const char *body, cJSON **answer,
                                  long *status)
{
	*answer = NULL;
	char *url = malloc(strlen(m->api) + strlen(endpoint) + 1);
	if (url == NULL) {
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	(void)sprintf(url, "%s%s", m->api, endpoint);
	static const char *const headers[] = {"Content-Type: application/json", NULL};
	const struct aero_http_request req = {.method = method,
	                                      .url = url,
	                                      .headers = headers,
	                                      .body = body,
	                                      .body_len = body != NULL ? strlen(body) : 0};
	struct aero_http_response res;
	(void)aero_http_perform(m->http, &req, &res);
	free(url);
	*status = res.status;
	if (res.status != 0)
		*answer = cJSON_Parse(res.body);
	const enum aero_sink_result r = aero_sink_judge(ctx, &res, endpoint);
	aero_http_response_free(&res);
	return r;
}

static const char *error_code(const cJSON *answer)
{
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(answer, "error_code");
	return cJSON_IsString(code) ? code->valuestring : "";
}

static enum aero_sink_result call_json(struct mlflow *m, struct aero_sink_ctx *ctx,
                                       const char *endpoint, const cJSON *body, cJSON **answer)
{
	char *text = aero_json_canonical(body);
	if (text == NULL) {
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	long status = 0;
	const enum aero_sink_result r = call(m, ctx, "POST", endpoint, text, answer, &status);
	free(text);
	return r;
}

/* ---- the experiment and the run ---- */

static enum aero_sink_result experiment_by_name(struct mlflow *m, struct aero_sink_ctx *ctx,
                                                const char *name, bool *missing)
{
	*missing = false;
	char *escaped = aero_http_escape(name);
	char *endpoint = escaped != NULL ? malloc(strlen(escaped) + 48) : NULL;
	if (endpoint == NULL) {
		free(escaped);
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	(void)sprintf(endpoint, "experiments/get-by-name?experiment_name=%s", escaped);
	free(escaped);
	cJSON *answer = NULL;
	long status = 0;
	enum aero_sink_result r = call(m, ctx, "GET", endpoint, NULL, &answer, &status);
	free(endpoint);
	if (status == 404 && strcmp(error_code(answer), "RESOURCE_DOES_NOT_EXIST") == 0) {
		*missing = true;
		r = AERO_SINK_OK;
	} else if (r == AERO_SINK_OK) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(answer, "experiment");
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "experiment_id");
		const cJSON *stage = cJSON_GetObjectItemCaseSensitive(e, "lifecycle_stage");
		if (!cJSON_IsString(id)) {
			aero_error_set("experiments/get-by-name: no experiment_id in the answer");
			r = AERO_SINK_RETRY;
		} else if (cJSON_IsString(stage) && strcmp(stage->valuestring, "deleted") == 0) {
			aero_error_set("the MLflow experiment '%s' is deleted: restore it (mlflow "
			               "experiments restore) or set MLFLOW_EXPERIMENT_NAME to "
			               "another name",
			               name);
			r = AERO_SINK_FAILED;
		} else {
			aero_sink_set_remote(ctx, "experiment_id", id->valuestring);
		}
	}
	cJSON_Delete(answer);
	return r;
}

/* MLFLOW_EXPERIMENT_ID, else MLFLOW_EXPERIMENT_NAME (created when missing),
 * else the default experiment "0". */
static enum aero_sink_result find_experiment(struct mlflow *m, struct aero_sink_ctx *ctx)
{
	if (aero_sink_remote(ctx, "experiment_id") != NULL)
		return AERO_SINK_OK;
	const char *id = aero_sink_env("MLFLOW_EXPERIMENT_ID");
	const char *name = aero_sink_env("MLFLOW_EXPERIMENT_NAME");
	if (id != NULL || name == NULL) {
		aero_sink_set_remote(ctx, "experiment_id", id != NULL ? id : "0");
		return AERO_SINK_OK;
	}
	bool missing = false;
	enum aero_sink_result r = experiment_by_name(m, ctx, name, &missing);
	if (r != AERO_SINK_OK || !missing)
		return r;
	cJSON *body = cJSON_CreateObject();
	if (body == NULL || cJSON_AddStringToObject(body, "name", name) == NULL) {
		cJSON_Delete(body);
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	cJSON *answer = NULL;
	char *text = aero_json_canonical(body);
	cJSON_Delete(body);
	long status = 0;
	r = text != NULL ? call(m, ctx, "POST", "experiments/create", text, &answer, &status)
	                 : AERO_SINK_RETRY;
	free(text);
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(answer, "experiment_id");
	if (r == AERO_SINK_OK && cJSON_IsString(created)) {
		aero_sink_set_remote(ctx, "experiment_id", created->valuestring);
	} else if (status == 400 && strcmp(error_code(answer), "RESOURCE_ALREADY_EXISTS") == 0) {
		/* Someone else created it meanwhile. */
		r = experiment_by_name(m, ctx, name, &missing);
		if (r == AERO_SINK_OK && missing) {
			aero_error_set("the MLflow experiment '%s' exists and cannot be found",
			               name);
			r = AERO_SINK_RETRY;
		}
	} else if (r == AERO_SINK_OK) {
		aero_error_set("experiments/create: no experiment_id in the answer");
		r = AERO_SINK_RETRY;
	}
	cJSON_Delete(answer);
	return r;
}

static bool add_tag(cJSON *tags, const char *key, const char *value)
{
	if (value == NULL)
		return true;
	cJSON *t = cJSON_CreateObject();
	char cut[MAX_TAG_VALUE + 1];
	(void)snprintf(cut, sizeof(cut), "%s", value);
	if (t == NULL || cJSON_AddStringToObject(t, "key", key) == NULL ||
	    cJSON_AddStringToObject(t, "value", cut) == NULL || !cJSON_AddItemToArray(tags, t)) {
		cJSON_Delete(t);
		return false;
	}
	return true;
}

/* The command as one string, for mlflow.source.name. */
static char *command_line(const cJSON *manifest)
{
	const cJSON *command = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(manifest, "run"), "argv");
	size_t len = 1;
	for (const cJSON *a = cJSON_IsArray(command) ? command->child : NULL; a != NULL;
	     a = a->next)
		if (cJSON_IsString(a))
			len += strlen(a->valuestring) + 1;
	char *line = calloc(1, len);
	size_t at = 0;
	for (const cJSON *a = cJSON_IsArray(command) ? command->child : NULL;
	     line != NULL && a != NULL; a = a->next) {
		if (!cJSON_IsString(a))
			continue;
		if (at > 0)
			line[at++] = ' ';
		const size_t n = strlen(a->valuestring);
		memcpy(line + at, a->valuestring, n + 1);
		at += n;
	}
	return line;
}

/* run.pipeline's member key, for a pipeline task's tags; NULL when not one. */
static const char *pipeline_fact(const cJSON *manifest, const char *key)
{
	const cJSON *run = cJSON_GetObjectItemCaseSensitive(manifest, "run");
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(run, "pipeline"), key));
}

static enum aero_sink_result create_run(struct mlflow *m, struct aero_sink_ctx *ctx,
                                        const cJSON *manifest)
{
	const char *run_id = aero_sink_manifest_string(manifest, "run", "id");
	const char *start = aero_sink_manifest_string(manifest, "run", "start_time");
	const double start_s = start != NULL ? aero_sink_parse_utc(start) : 0;
	char *source = command_line(manifest);
	cJSON *body = cJSON_CreateObject();
	cJSON *tags = body != NULL ? cJSON_AddArrayToObject(body, "tags") : NULL;
	const char *name = aero_sink_env("MLFLOW_RUN_NAME") != NULL
	                           ? aero_sink_env("MLFLOW_RUN_NAME")
	                           : run_id;
	bool ok =
	        tags != NULL && source != NULL &&
	        cJSON_AddStringToObject(body, "experiment_id",
	                                aero_sink_remote(ctx, "experiment_id")) &&
	        (name == NULL || cJSON_AddStringToObject(body, "run_name", name) != NULL) &&
	        cJSON_AddNumberToObject(body, "start_time", floor(start_s * 1000)) != NULL &&
	        add_tag(tags, "mlflow.runName", name) &&
	        add_tag(tags, "mlflow.user", aero_sink_manifest_string(manifest, "run", "user")) &&
	        add_tag(tags, "mlflow.source.name", source) &&
	        add_tag(tags, "mlflow.source.type", "JOB") &&
	        add_tag(tags, "mlflow.source.git.commit",
	                aero_sink_manifest_string(manifest, "git", "commit")) &&
	        add_tag(tags, "mlflow.source.git.branch",
	                aero_sink_manifest_string(manifest, "git", "branch")) &&
	        add_tag(tags, "mlflow.source.git.repoURL",
	                aero_sink_manifest_string(manifest, "git", "remote")) &&
	        add_tag(tags, "mlflow.docker.image.uri",
	                aero_sink_manifest_string(manifest, "image", "name")) &&
	        add_tag(tags, "mlflow.docker.image.id",
	                aero_sink_manifest_string(manifest, "image", "id")) &&
	        add_tag(tags, "aeromancy.run_id", run_id) &&
	        add_tag(tags, "aeromancy.pipeline", pipeline_fact(manifest, "name")) &&
	        add_tag(tags, "aeromancy.pipeline_run", pipeline_fact(manifest, "id")) &&
	        add_tag(tags, "aeromancy.task", pipeline_fact(manifest, "task")) &&
	        add_tag(tags, "aeromancy.fingerprint",
	                cJSON_IsString(cJSON_GetObjectItemCaseSensitive(manifest, "fingerprint"))
	                        ? cJSON_GetObjectItemCaseSensitive(manifest, "fingerprint")
	                                  ->valuestring
	                        : NULL);
	free(source);
	if (!ok) {
		cJSON_Delete(body);
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	cJSON *answer = NULL;
	enum aero_sink_result r = call_json(m, ctx, "runs/create", body, &answer);
	cJSON_Delete(body);
	const cJSON *info = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(answer, "run"), "info");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(info, "run_id");
	const cJSON *uri = cJSON_GetObjectItemCaseSensitive(info, "artifact_uri");
	if (r == AERO_SINK_OK && !cJSON_IsString(id)) {
		aero_error_set("runs/create: no run_id in the answer");
		r = AERO_SINK_RETRY;
	} else if (r == AERO_SINK_OK) {
		aero_sink_set_remote(ctx, "run_id", id->valuestring);
		if (cJSON_IsString(uri))
			aero_sink_set_remote(ctx, "artifact_uri", uri->valuestring);
		aero_log_notice("mlflow: run %s/#/experiments/%s/runs/%s", m->shown,
		                aero_sink_remote(ctx, "experiment_id"), id->valuestring);
	}
	cJSON_Delete(answer);
	return r;
}

/* PUTs a run directory file as an artifact, through the tracking server's
 * artifact proxy (artifact_uri mlflow-artifacts:/...). */
static enum aero_sink_result put_artifact(struct mlflow *m, struct aero_sink_ctx *ctx,
                                          const char *file, const char *as)
{
	const char *uri = aero_sink_remote(ctx, "artifact_uri");
	static const char scheme[] = "mlflow-artifacts:";
	if (uri == NULL || strncmp(uri, scheme, sizeof(scheme) - 1) != 0) {
		aero_log_warn(
		        "mlflow: the run's artifacts go to %s, which aero-init does not write; %s "
		        "is not uploaded (it stays in %s)",
		        uri != NULL ? uri : "an unknown place", file, ctx->run_dir);
		return AERO_SINK_OK;
	}
	const char *path = uri + sizeof(scheme) - 1;
	while (*path == '/')
		path++;
	/* mlflow-artifacts://host/path names a server; the path starts after it. */
	if (strncmp(uri + sizeof(scheme) - 1, "//", 2) == 0 && strchr(path, '/') != NULL)
		path = strchr(path, '/') + 1;
	char *local = malloc(strlen(ctx->run_dir) + strlen(file) + 2);
	char *url = malloc(strlen(m->tracking) + strlen(path) + strlen(as) + 64);
	size_t len = 0;
	char *bytes = NULL;
	if (local != NULL) {
		(void)sprintf(local, "%s/%s", ctx->run_dir, file);
		bytes = aero_file_read(local, 1u << 30, &len);
	}
	enum aero_sink_result r = AERO_SINK_OK;
	if (url == NULL || local == NULL) {
		aero_error_set("out of memory");
		r = AERO_SINK_RETRY;
	} else if (bytes != NULL) {
		(void)sprintf(url, "%s/api/2.0/mlflow-artifacts/artifacts/%s/%s", m->tracking, path,
		              as);
		static const char *const headers[] = {"Content-Type: application/octet-stream",
		                                      NULL};
		const struct aero_http_request req = {.method = "PUT",
		                                      .url = url,
		                                      .headers = headers,
		                                      .body = bytes,
		                                      .body_len = len};
		struct aero_http_response res;
		(void)aero_http_perform(m->http, &req, &res);
		r = aero_sink_judge(ctx, &res, "uploading an artifact");
		aero_http_response_free(&res);
	}
	free(bytes);
	free(local);
	free(url);
	return r;
}

static enum aero_sink_result mlflow_begin(void *sink, struct aero_sink_ctx *ctx,
                                          const struct aero_batch *b)
{
	struct mlflow *m = sink;
	enum aero_sink_result r = find_experiment(m, ctx);
	if (r == AERO_SINK_OK && aero_sink_remote(ctx, "run_id") == NULL)
		r = create_run(m, ctx, b->manifest);
	if (r == AERO_SINK_OK && aero_sink_remote(ctx, "manifest") == NULL) {
		r = put_artifact(m, ctx, "manifest.json", "aeromancy/manifest.json");
		if (r == AERO_SINK_OK)
			aero_sink_set_remote(ctx, "manifest", "uploaded");
	}
	return r;
}

/* ---- log-batch ---- */

struct batch {
	cJSON *body;
	cJSON *metrics;
	cJSON *params;
	cJSON *tags;
	int items;
	size_t bytes; /* an estimate of the body's size */
};

static int batch_new(struct batch *bt, const char *run_id)
{
	bt->body = cJSON_CreateObject();
	bt->metrics = cJSON_CreateArray();
	bt->params = cJSON_CreateArray();
	bt->tags = cJSON_CreateArray();
	bt->items = 0;
	bt->bytes = 128;
	if (bt->body == NULL || bt->metrics == NULL || bt->params == NULL || bt->tags == NULL ||
	    cJSON_AddStringToObject(bt->body, "run_id", run_id) == NULL) {
		cJSON_Delete(bt->body);
		cJSON_Delete(bt->metrics);
		cJSON_Delete(bt->params);
		cJSON_Delete(bt->tags);
		bt->body = NULL;
		return aero_error_set("out of memory");
	}
	cJSON_AddItemToObject(bt->body, "metrics", bt->metrics);
	cJSON_AddItemToObject(bt->body, "params", bt->params);
	cJSON_AddItemToObject(bt->body, "tags", bt->tags);
	return 0;
}

/* Sends the batch when it has anything, and starts a new one. */
static enum aero_sink_result batch_flush(struct mlflow *m, struct aero_sink_ctx *ctx,
                                         struct batch *bt)
{
	enum aero_sink_result r = AERO_SINK_OK;
	if (bt->items > 0) {
		cJSON *answer = NULL;
		r = call_json(m, ctx, "runs/log-batch", bt->body, &answer);
		cJSON_Delete(answer);
	}
	cJSON_Delete(bt->body);
	bt->body = NULL;
	if (r == AERO_SINK_OK && batch_new(bt, aero_sink_remote(ctx, "run_id")) < 0)
		r = AERO_SINK_RETRY;
	return r;
}

/* Whether a key is one MLflow takes: <= 250 of [/\w.\- ], no "..", no leading '/'. */
static bool valid_key(const char *key)
{
	if (key[0] == '\0' || key[0] == '/' || strlen(key) > MAX_KEY || strstr(key, "..") != NULL)
		return false;
	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '/' || *p == '.' ||
		      *p == '-' || *p == ' '))
			return false;
	return true;
}

enum kind { METRIC, PARAM, TAG };

/* Adds one item, flushing first when a limit would be passed. */
static enum aero_sink_result batch_add(struct mlflow *m, struct aero_sink_ctx *ctx,
                                       struct batch *bt, enum kind kind, cJSON *item)
{
	char *text = aero_json_canonical(item);
	const size_t size = text != NULL ? strlen(text) + 1 : 0;
	free(text);
	if (size == 0) {
		cJSON_Delete(item);
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	const int n[] = {cJSON_GetArraySize(bt->metrics), cJSON_GetArraySize(bt->params),
	                 cJSON_GetArraySize(bt->tags)};
	const int limits[] = {MAX_METRICS, MAX_PARAMS, MAX_TAGS};
	if (n[kind] + 1 > limits[kind] || bt->items + 1 > 1000 || bt->bytes + size > MAX_BODY) {
		const enum aero_sink_result r = batch_flush(m, ctx, bt);
		if (r != AERO_SINK_OK) {
			cJSON_Delete(item);
			return r;
		}
	}
	cJSON *arrays[] = {bt->metrics, bt->params, bt->tags};
	cJSON_AddItemToArray(arrays[kind], item);
	bt->items++;
	bt->bytes += size;
	return AERO_SINK_OK;
}

/* A metric value: a number, or MLflow's strings for NaN and the infinities. */
static cJSON *metric_value(const cJSON *v)
{
	if (cJSON_IsNumber(v))
		return cJSON_CreateNumber(v->valuedouble);
	if (cJSON_IsString(v) &&
	    (strcmp(v->valuestring, "NaN") == 0 || strcmp(v->valuestring, "Infinity") == 0 ||
	     strcmp(v->valuestring, "-Infinity") == 0))
		return cJSON_CreateString(v->valuestring);
	return NULL;
}

static enum aero_sink_result add_metric(struct mlflow *m, struct aero_sink_ctx *ctx,
                                        struct batch *bt, const char *key, const cJSON *value,
                                        double timestamp_ms, double step)
{
	cJSON *v = metric_value(value);
	if (v == NULL)
		return AERO_SINK_OK; /* not a number: MLflow has no place for it */
	if (!valid_key(key)) {
		cJSON_Delete(v);
		if (!m->warned_keys)
			aero_log_warn(
			        "mlflow: metric '%s' is not a valid MLflow key (letters, digits, "
			        "_ / . - and spaces, at most 250); such keys are not sent",
			        key);
		m->warned_keys = true;
		return AERO_SINK_OK;
	}
	cJSON *item = cJSON_CreateObject();
	if (item == NULL || cJSON_AddStringToObject(item, "key", key) == NULL ||
	    !cJSON_AddItemToObject(item, "value", v) ||
	    cJSON_AddNumberToObject(item, "timestamp", timestamp_ms) == NULL ||
	    cJSON_AddNumberToObject(item, "step", step) == NULL) {
		if (item == NULL || cJSON_GetObjectItemCaseSensitive(item, "value") != v)
			cJSON_Delete(v);
		cJSON_Delete(item);
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	return batch_add(m, ctx, bt, METRIC, item);
}

/* Every row of metrics.jsonl: each numeric value a metric at the row's step,
 * its timestamp the row's, in milliseconds. */
static enum aero_sink_result add_rows(struct mlflow *m, struct aero_sink_ctx *ctx, struct batch *bt,
                                      const struct aero_lines *lines, bool system)
{
	enum aero_sink_result r = AERO_SINK_OK;
	const char *p = lines->text;
	const char *end = lines->text + lines->len;
	long index = lines->first;
	for (; r == AERO_SINK_OK && p < end; index++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const size_t len = (size_t)((nl != NULL ? nl : end) - p);
		cJSON *row = cJSON_ParseWithLength(p, len);
		p += len + 1;
		const cJSON *ts = cJSON_GetObjectItemCaseSensitive(row, "_timestamp");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(row, "_step");
		const double t = cJSON_IsNumber(ts) ? floor(ts->valuedouble * 1000) : 0;
		const double step =
		        system ? (double)index : (cJSON_IsNumber(st) ? st->valuedouble : 0);
		for (const cJSON *item = row != NULL ? row->child : NULL;
		     r == AERO_SINK_OK && item != NULL; item = item->next) {
			if (item->string[0] == '_')
				continue;
			char key[MAX_KEY + 64];
			if (system && cJSON_IsArray(item)) {
				int i = 0;
				for (const cJSON *gpu = item->child;
				     r == AERO_SINK_OK && gpu != NULL; gpu = gpu->next, i++)
					for (const cJSON *g = gpu->child;
					     r == AERO_SINK_OK && g != NULL; g = g->next) {
						(void)snprintf(key, sizeof(key), "system/gpu_%d_%s",
						               i, g->string);
						r = add_metric(m, ctx, bt, key, g, t, step);
					}
				continue;
			}
			(void)snprintf(key, sizeof(key), "%s%s", system ? "system/" : "",
			               item->string);
			r = add_metric(m, ctx, bt,
			               strlen(item->string) > MAX_KEY ? item->string : key, item, t,
			               step);
		}
		cJSON_Delete(row);
	}
	return r;
}

/* Params from config.json: strings as they are, other values as JSON. A
 * param cannot change once set: a changed one is reported, not sent. */
static enum aero_sink_result add_params(struct mlflow *m, struct aero_sink_ctx *ctx,
                                        struct batch *bt, const cJSON *config)
{
	cJSON *sent = cJSON_GetObjectItemCaseSensitive(ctx->remote, "params");
	if (sent == NULL)
		sent = cJSON_AddObjectToObject(ctx->remote, "params");
	if (sent == NULL) {
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	enum aero_sink_result r = AERO_SINK_OK;
	for (const cJSON *item = config->child; r == AERO_SINK_OK && item != NULL;
	     item = item->next) {
		char *value = cJSON_IsString(item) ? strdup(item->valuestring)
		                                   : aero_json_canonical(item);
		if (value == NULL) {
			aero_error_set("out of memory");
			return AERO_SINK_RETRY;
		}
		if (strlen(value) > MAX_PARAM_VALUE) {
			aero_log_warn(
			        "mlflow: param '%s' is longer than %d characters, MLflow's limit; "
			        "sent cut to that length (config.json has it whole)",
			        item->string, MAX_PARAM_VALUE);
			value[MAX_PARAM_VALUE] = '\0';
		}
		const cJSON *before = cJSON_GetObjectItemCaseSensitive(sent, item->string);
		if (!valid_key(item->string)) {
			aero_log_warn("mlflow: param '%s' is not a valid MLflow key; not sent",
			              item->string);
		} else if (cJSON_IsString(before) && strcmp(before->valuestring, value) != 0) {
			aero_log_warn(
			        "mlflow: param '%s' changed after it was sent (%s, now %s); MLflow "
			        "params cannot change, so the new value is only in config.json",
			        item->string, before->valuestring, value);
		} else if (before == NULL) {
			cJSON *p = cJSON_CreateObject();
			if (p == NULL || cJSON_AddStringToObject(p, "key", item->string) == NULL ||
			    cJSON_AddStringToObject(p, "value", value) == NULL) {
				cJSON_Delete(p);
				free(value);
				aero_error_set("out of memory");
				return AERO_SINK_RETRY;
			}
			r = batch_add(m, ctx, bt, PARAM, p);
			if (r == AERO_SINK_OK)
				cJSON_AddStringToObject(sent, item->string, value);
		}
		free(value);
	}
	return r;
}

/* Tags (value "true") and notes (mlflow.note.content) from run.json. */
static enum aero_sink_result add_run_tags(struct mlflow *m, struct aero_sink_ctx *ctx,
                                          struct batch *bt, const cJSON *run)
{
	cJSON *tags = cJSON_CreateArray();
	bool ok = tags != NULL;
	const cJSON *own = cJSON_GetObjectItemCaseSensitive(run, "tags");
	for (const cJSON *t = cJSON_IsArray(own) ? own->child : NULL; ok && t != NULL; t = t->next)
		if (cJSON_IsString(t) && valid_key(t->valuestring))
			ok = add_tag(tags, t->valuestring, "true");
	const cJSON *notes = cJSON_GetObjectItemCaseSensitive(run, "notes");
	if (ok && cJSON_IsString(notes))
		ok = add_tag(tags, "mlflow.note.content", notes->valuestring);
	enum aero_sink_result r = ok ? AERO_SINK_OK : AERO_SINK_RETRY;
	if (!ok)
		aero_error_set("out of memory");
	while (r == AERO_SINK_OK && tags != NULL && tags->child != NULL)
		r = batch_add(m, ctx, bt, TAG, cJSON_DetachItemViaPointer(tags, tags->child));
	cJSON_Delete(tags);
	return r;
}

/* Each artifact the run got or put as a tag: aeromancy.input.NAME (or
 * aeromancy.output.NAME) = "v3 sha256:...". Tags are set, not added, so a
 * batch sent twice changes nothing. */
static enum aero_sink_result add_artifact_tags(struct mlflow *m, struct aero_sink_ctx *ctx,
                                               struct batch *bt, const struct aero_lines *lines)
{
	enum aero_sink_result r = AERO_SINK_OK;
	for (const char *line = lines->text, *end = lines->text + lines->len;
	     r == AERO_SINK_OK && line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const size_t len = nl != NULL ? (size_t)(nl - line) : (size_t)(end - line);
		cJSON *record = cJSON_ParseWithLength(line, len);
		line += len + 1;
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(record, "op");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(record, "name");
		const cJSON *version = cJSON_GetObjectItemCaseSensitive(record, "version");
		const cJSON *digest = cJSON_GetObjectItemCaseSensitive(record, "digest");
		if (!cJSON_IsString(op) || !cJSON_IsString(name) || !cJSON_IsNumber(version) ||
		    !cJSON_IsString(digest)) {
			cJSON_Delete(record);
			continue; /* not a record this sink knows: the manifest has it */
		}
		char key[300], value[160];
		(void)snprintf(key, sizeof(key), "aeromancy.%s.%.250s",
		               strcmp(op->valuestring, "put") == 0 ? "output" : "input",
		               name->valuestring);
		(void)snprintf(value, sizeof(value), "v%.0f %.80s", version->valuedouble,
		               digest->valuestring);
		cJSON *tags = cJSON_CreateArray();
		if (tags == NULL || !valid_key(key) || !add_tag(tags, key, value)) {
			cJSON_Delete(tags);
			cJSON_Delete(record);
			continue;
		}
		r = batch_add(m, ctx, bt, TAG, cJSON_DetachItemViaPointer(tags, tags->child));
		cJSON_Delete(tags);
		cJSON_Delete(record);
	}
	return r;
}

static enum aero_sink_result mlflow_send(void *sink, struct aero_sink_ctx *ctx,
                                         const struct aero_batch *b)
{
	struct mlflow *m = sink;
	struct batch bt;
	if (batch_new(&bt, aero_sink_remote(ctx, "run_id")) < 0)
		return AERO_SINK_RETRY;
	/* Params first: a new batch can only add ones not yet sent. */
	cJSON *params_before =
	        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ctx->remote, "params"), 1);
	enum aero_sink_result r = AERO_SINK_OK;
	if (b->config != NULL)
		r = add_params(m, ctx, &bt, b->config);
	if (r == AERO_SINK_OK && b->run != NULL)
		r = add_run_tags(m, ctx, &bt, b->run);
	if (r == AERO_SINK_OK && b->artifacts.count > 0)
		r = add_artifact_tags(m, ctx, &bt, &b->artifacts);
	if (r == AERO_SINK_OK)
		r = add_rows(m, ctx, &bt, &b->metrics, false);
	if (r == AERO_SINK_OK)
		r = add_rows(m, ctx, &bt, &b->system, true);
	if (r == AERO_SINK_OK)
		r = batch_flush(m, ctx, &bt);
	/* The manifest artifact again, now with the run's inputs and outputs. */
	if (r == AERO_SINK_OK && b->artifacts.count > 0)
		r = put_artifact(m, ctx, "manifest.json", "aeromancy/manifest.json");
	if (r != AERO_SINK_OK) {
		/* Params of this batch may not have arrived: forget that they were sent. */
		cJSON_DeleteItemFromObjectCaseSensitive(ctx->remote, "params");
		if (params_before != NULL)
			cJSON_AddItemToObject(ctx->remote, "params", params_before);
		params_before = NULL;
	}
	cJSON_Delete(params_before);
	cJSON_Delete(bt.body);
	return r;
}

static enum aero_sink_result mlflow_finish(void *sink, struct aero_sink_ctx *ctx,
                                           const struct aero_outcome *outcome)
{
	struct mlflow *m = sink;
	enum aero_sink_result r = put_artifact(m, ctx, "output.log", "aeromancy/output.log");
	if (r != AERO_SINK_OK)
		return r;
	/* KILLED is MLflow's word for a run someone stopped: SIGTERM, SIGINT or
	 * SIGHUP. Any other death (SIGKILL from the OOM killer, a crash) failed. */
	const bool stopped =
	        strcmp(outcome->state, "killed") == 0 && outcome->signal != NULL &&
	        (strcmp(outcome->signal, "SIGTERM") == 0 ||
	         strcmp(outcome->signal, "SIGINT") == 0 || strcmp(outcome->signal, "SIGHUP") == 0);
	const char *status = strcmp(outcome->state, "finished") == 0 ? "FINISHED"
	                     : stopped                               ? "KILLED"
	                                                             : "FAILED";
	cJSON *body = cJSON_CreateObject();
	if (body == NULL ||
	    cJSON_AddStringToObject(body, "run_id", aero_sink_remote(ctx, "run_id")) == NULL ||
	    cJSON_AddStringToObject(body, "status", status) == NULL ||
	    cJSON_AddNumberToObject(body, "end_time", floor(outcome->end_time * 1000)) == NULL) {
		cJSON_Delete(body);
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	cJSON *answer = NULL;
	r = call_json(m, ctx, "runs/update", body, &answer);
	cJSON_Delete(body);
	cJSON_Delete(answer);
	return r;
}

const struct aero_sink_ops aero_sink_mlflow = {
        .name = "mlflow",
        .open = mlflow_open,
        .begin = mlflow_begin,
        .send = mlflow_send,
        .finish = mlflow_finish,
        .close = mlflow_close,
};
