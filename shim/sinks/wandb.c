/* The Weights & Biases sink: a native client of W&B's GraphQL API (the run,
 * its config and tags, file uploads) and its file_stream endpoint (history,
 * summary, console, system metrics). Protocol: doc/trackers.md.
 *
 * Every line sent carries its line number in the spool as its file_stream
 * offset, and the server overwrites a line sent twice, so a retry after any
 * failure doubles nothing. */
#include "canonjson.h"
#include "clock.h"
#include "error.h"
#include "file.h"
#include "files.h"
#include "http.h"
#include "log.h"
#include "redact.h"
#include "runsdir.h"
#include "sink.h"
#include "sinkutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define MANIFEST_FILE "aeromancy-manifest.json"
/* A heartbeat goes out after this long without a request. */
#define HEARTBEAT_MS 30000
/* The largest run file read (the manifest, config, summary). */
#define JSON_MAX (1u << 26)

static const char upsert_query[] =
        "mutation UpsertBucket($id: String, $name: String, $project: String, $entity: String, "
        "$groupName: String, $description: String, $displayName: String, $notes: String, "
        "$commit: String, $config: JSONString, $host: String, $debug: Boolean, $program: String, "
        "$repo: String, $jobType: String, $state: String, $sweep: String, $tags: [String!], "
        "$summaryMetrics: JSONString) { upsertBucket(input: {id: $id, name: $name, groupName: "
        "$groupName, modelName: $project, entityName: $entity, description: $description, "
        "displayName: $displayName, notes: $notes, config: $config, commit: $commit, host: $host, "
        "debug: $debug, jobProgram: $program, jobRepo: $repo, jobType: $jobType, state: $state, "
        "sweep: $sweep, tags: $tags, summaryMetrics: $summaryMetrics}) { bucket { id name "
        "displayName description config sweepName project { id name entity { id name } } "
        "historyLineCount } inserted } }";

static const char create_files_query[] =
        "mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: "
        "[String!]!) { createRunFiles(input: {entityName: $entity, projectName: $project, "
        "runName: $run, files: $files}) { runID uploadHeaders files { name uploadUrl } } }";

struct wandb {
	struct aero_http *http;
	char *base; /* the API's base URL, without a trailing slash */
	char *app;  /* the web app's, for the run's URL */
	int64_t last_request_ms;
};

/* ---- settings ---- */

/* The password of `machine host` in ~/.netrc, as the W&B SDK reads it. */
static char *netrc_key(const char *host)
{
	const char *home = getenv("HOME");
	const char *file = aero_sink_env("NETRC");
	char *path = NULL;
	if (file != NULL) {
		path = strdup(file);
	} else if (home != NULL) {
		path = malloc(strlen(home) + 8);
		if (path != NULL)
			(void)sprintf(path, "%s/.netrc", home);
	}
	size_t len = 0;
	char *text = path != NULL ? aero_file_read(path, 1u << 20, &len) : NULL;
	free(path);
	if (text == NULL)
		return NULL;
	char *key = NULL;
	bool ours = false;
	char *save = NULL;
	for (char *tok = strtok_r(text, " \t\r\n", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (strcmp(tok, "machine") == 0) {
			const char *name = strtok_r(NULL, " \t\r\n", &save);
			ours = name != NULL && strcmp(name, host) == 0;
		} else if (strcmp(tok, "default") == 0) {
			ours = key == NULL;
		} else if (ours && strcmp(tok, "password") == 0) {
			const char *value = strtok_r(NULL, " \t\r\n", &save);
			if (value != NULL) {
				free(key);
				key = strdup(value);
			}
		}
	}
	free(text);
	return key;
}

/* The host part of a URL. */
static char *url_host(const char *url)
{
	const char *p = strstr(url, "://");
	p = p != NULL ? p + 3 : url;
	const size_t len = strcspn(p, ":/");
	return strndup(p, len);
}

/* app_url: WANDB_APP_URL, else the API URL with api.wandb. -> wandb., api.X -> app.X. */
static char *app_url(const char *base)
{
	const char *env = aero_sink_env("WANDB_APP_URL");
	if (env != NULL)
		return strndup(env, strlen(env) - (env[strlen(env) - 1] == '/'));
	const char *api = strstr(base, "://api.");
	if (api == NULL)
		return strdup(base);
	const bool wandb = strncmp(api + 7, "wandb.", 6) == 0;
	const size_t head = (size_t)(api - base) + 3;
	char *url = malloc(strlen(base) + 4);
	if (url != NULL)
		(void)sprintf(url, "%.*s%s%s", (int)head, base, wandb ? "" : "app.", api + 7);
	return url;
}

static bool valid_run_id(const char *id)
{
	if (id[0] == '\0' || strlen(id) > 128)
		return false;
	for (const char *p = id; *p != '\0'; p++)
		if (strchr(":;,#?/'", *p) != NULL || isspace((unsigned char)*p))
			return false;
	return true;
}

/* The run id: kept from an earlier start, else WANDB_RUN_ID, else 8 of [a-z0-9]. */
static int choose_run_id(struct aero_sink_ctx *ctx)
{
	if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ctx->remote, "run_id")))
		return 0;
	char id[129];
	const char *env = aero_sink_env("WANDB_RUN_ID");
	if (env != NULL) {
		if (!valid_run_id(env))
			return aero_error_set(
			        "WANDB_RUN_ID '%s' is not a valid run id (no : ; , # ? / ' "
			        "or spaces, at most 128 characters)",
			        env);
		(void)snprintf(id, sizeof(id), "%s", env);
	} else {
		static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
		unsigned char r[8];
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return aero_error_set("no random bytes for a run id");
		for (size_t i = 0; i < sizeof(r); i++)
			id[i] = alphabet[r[i] % 36];
		id[sizeof(r)] = '\0';
	}
	return cJSON_AddStringToObject(ctx->remote, "run_id", id) != NULL
	               ? 0
	               : aero_error_set("out of memory");
}

static void wandb_close(void *sink)
{
	struct wandb *w = sink;
	if (w == NULL)
		return;
	aero_http_close(w->http);
	free(w->base);
	free(w->app);
	free(w);
}

static void *wandb_open(struct aero_sink_ctx *ctx)
{
	const char *mode = aero_sink_env("WANDB_MODE");
	if (mode != NULL && strcmp(mode, "online") != 0 && strcmp(mode, "run") != 0) {
		aero_error_set("WANDB_MODE is %s", mode);
		return NULL;
	}
	const char *base = aero_sink_env("WANDB_BASE_URL");
	if (base == NULL)
		base = "https://api.wandb.ai";
	struct wandb *w = calloc(1, sizeof(*w));
	if (w == NULL) {
		aero_error_set("out of memory");
		return NULL;
	}
	w->base = strndup(base, strlen(base) - (base[strlen(base) - 1] == '/'));
	char *shown = w->base != NULL ? aero_url_without_credentials(w->base) : NULL;
	w->app = shown != NULL ? app_url(shown) : NULL; /* printed: no credentials */
	free(shown);
	char *host = w->base != NULL ? url_host(w->base) : NULL;
	const char *env_key = aero_sink_env("WANDB_API_KEY");
	char *key = env_key != NULL ? strdup(env_key) : (host != NULL ? netrc_key(host) : NULL);
	if (w->app != NULL && host != NULL && key != NULL)
		w->http = aero_http_open("api", key, NULL);
	if (w->app == NULL || host == NULL || (key != NULL && w->http == NULL)) {
		aero_error_set("out of memory");
	} else if (key == NULL) {
		aero_error_set(
		        "no W&B API key: set WANDB_API_KEY (or add 'machine %s' to ~/.netrc)",
		        host);
	} else if (choose_run_id(ctx) == 0) {
		free(host);
		free(key);
		return w;
	}
	free(host);
	free(key);
	wandb_close(w);
	return NULL;
}

/* ---- requests ---- */

/* POSTs a JSON body to base + path; *answer gets the parsed answer on 2xx. */
static enum aero_sink_result post(struct wandb *w, struct aero_sink_ctx *ctx, const char *path,
                                  const cJSON *body, const char *what, cJSON **answer)
{
	*answer = NULL;
	char *text = aero_json_canonical(body);
	char *url = malloc(strlen(w->base) + strlen(path) + 1);
	if (text == NULL || url == NULL) {
		free(text);
		free(url);
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	(void)sprintf(url, "%s%s", w->base, path);
	static const char *const headers[] = {"Content-Type: application/json", NULL};
	const struct aero_http_request req = {.method = "POST",
	                                      .url = url,
	                                      .headers = headers,
	                                      .body = text,
	                                      .body_len = strlen(text)};
	struct aero_http_response res;
	(void)aero_http_perform(w->http, &req, &res);
	w->last_request_ms = aero_clock_monotonic_ms();
	free(text);
	free(url);
	enum aero_sink_result r = aero_sink_judge(ctx, &res, what);
	if (r == AERO_SINK_OK) {
		*answer = cJSON_Parse(res.body);
		if (*answer == NULL) {
			aero_error_set("%s: the answer is not JSON", what);
			r = AERO_SINK_RETRY;
		}
	}
	aero_http_response_free(&res);
	return r;
}

/* A GraphQL call; errors that come with HTTP 200 are failures too. */
static enum aero_sink_result graphql(struct wandb *w, struct aero_sink_ctx *ctx, const char *name,
                                     const char *query, cJSON *variables, cJSON **data)
{
	*data = NULL;
	cJSON *body = cJSON_CreateObject();
	if (body == NULL || cJSON_AddStringToObject(body, "operationName", name) == NULL ||
	    cJSON_AddStringToObject(body, "query", query) == NULL ||
	    !cJSON_AddItemToObject(body, "variables", variables)) {
		cJSON_Delete(body);
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	cJSON *answer = NULL;
	enum aero_sink_result r = post(w, ctx, "/graphql", body, name, &answer);
	cJSON_Delete(body);
	if (r != AERO_SINK_OK)
		return r;
	const cJSON *errors = cJSON_GetObjectItemCaseSensitive(answer, "errors");
	if (cJSON_IsArray(errors) && cJSON_GetArraySize(errors) > 0) {
		const cJSON *msg =
		        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(errors, 0), "message");
		aero_error_set("%s: %s", name,
		               cJSON_IsString(msg) ? msg->valuestring : "GraphQL error");
		cJSON_Delete(answer);
		return AERO_SINK_FAILED;
	}
	*data = cJSON_DetachItemFromObjectCaseSensitive(answer, "data");
	cJSON_Delete(answer);
	if (!cJSON_IsObject(*data)) {
		cJSON_Delete(*data);
		*data = NULL;
		aero_error_set("%s: the answer has no data", name);
		return AERO_SINK_RETRY;
	}
	return AERO_SINK_OK;
}

/* ---- the run ---- */

/* W&B's config: every hyperparameter as {"value": ...}, and the manifest. */
static char *config_string(const cJSON *config, const cJSON *manifest)
{
	cJSON *wrapped = cJSON_CreateObject();
	bool ok = wrapped != NULL;
	for (const cJSON *item = config != NULL ? config->child : NULL; ok && item != NULL;
	     item = item->next) {
		cJSON *box = cJSON_AddObjectToObject(wrapped, item->string);
		cJSON *copy = cJSON_Duplicate(item, 1);
		ok = box != NULL && copy != NULL && cJSON_AddItemToObject(box, "value", copy);
		if (!ok)
			cJSON_Delete(copy);
	}
	cJSON *box = ok ? cJSON_AddObjectToObject(wrapped, "aeromancy") : NULL;
	cJSON *copy = box != NULL ? cJSON_Duplicate(manifest, 1) : NULL;
	ok = copy != NULL && cJSON_AddItemToObject(box, "value", copy);
	if (!ok)
		cJSON_Delete(copy);
	char *text = ok ? aero_json_canonical(wrapped) : NULL;
	cJSON_Delete(wrapped);
	return text;
}

static cJSON *string_or_null(const char *s)
{
	return s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* Tags: WANDB_TAGS and the run's own. */
static cJSON *tags_of(const cJSON *run)
{
	cJSON *tags = cJSON_CreateArray();
	const char *env = aero_sink_env("WANDB_TAGS");
	char *list = env != NULL ? strdup(env) : NULL;
	char *save = NULL;
	for (char *t = list != NULL ? strtok_r(list, ",", &save) : NULL; tags != NULL && t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (*t != '\0')
			cJSON_AddItemToArray(tags, cJSON_CreateString(t));
	}
	free(list);
	const cJSON *own = cJSON_GetObjectItemCaseSensitive(run, "tags");
	for (const cJSON *t = cJSON_IsArray(own) ? own->child : NULL; tags != NULL && t != NULL;
	     t = t->next)
		if (cJSON_IsString(t))
			cJSON_AddItemToArray(tags, cJSON_CreateString(t->valuestring));
	return tags;
}

static enum aero_sink_result upsert(struct wandb *w, struct aero_sink_ctx *ctx,
                                    const cJSON *manifest, cJSON **bucket)
{
	*bucket = NULL;
	cJSON *config = aero_file_read_json(ctx->run_dir, "config.json", JSON_MAX);
	cJSON *run = aero_file_read_json(ctx->run_dir, "run.json", JSON_MAX);
	char *config_text = config_string(config, manifest);
	const cJSON *notes = cJSON_GetObjectItemCaseSensitive(run, "notes");
	const cJSON *command = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(manifest, "run"), "argv");
	const char *program = cJSON_IsArray(command) && cJSON_IsString(command->child)
	                              ? command->child->valuestring
	                              : NULL;
	const char *entity = aero_sink_remote(ctx, "entity");
	const char *project = aero_sink_remote(ctx, "project");
	cJSON *v = cJSON_CreateObject();
	const struct {
		const char *key;
		cJSON *value;
	} fields[] = {
	        {"name", string_or_null(aero_sink_remote(ctx, "run_id"))},
	        {"project",
	         string_or_null(project != NULL ? project : aero_sink_env("WANDB_PROJECT"))},
	        {"entity", string_or_null(entity != NULL ? entity : aero_sink_env("WANDB_ENTITY"))},
	        {"groupName", string_or_null(aero_sink_env("WANDB_RUN_GROUP"))},
	        {"displayName",
	         string_or_null(aero_sink_env("WANDB_NAME")
	                                ? aero_sink_env("WANDB_NAME")
	                                : aero_sink_manifest_string(manifest, "run", "id"))},
	        {"notes", string_or_null(cJSON_IsString(notes) ? notes->valuestring
	                                                       : aero_sink_env("WANDB_NOTES"))},
	        {"commit", string_or_null(aero_sink_manifest_string(manifest, "git", "commit"))},
	        {"config", string_or_null(config_text)},
	        {"host", string_or_null(aero_sink_manifest_string(manifest, "run", "hostname"))},
	        {"program", string_or_null(program)},
	        {"repo", string_or_null(aero_sink_manifest_string(manifest, "git", "remote"))},
	        {"jobType", string_or_null(aero_sink_env("WANDB_JOB_TYPE"))},
	        {"tags", tags_of(run)},
	};
	bool ok = v != NULL;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (ok && fields[i].value != NULL &&
		    cJSON_AddItemToObject(v, fields[i].key, fields[i].value))
			continue;
		ok = false;
		cJSON_Delete(fields[i].value);
	}
	free(config_text);
	cJSON_Delete(config);
	cJSON_Delete(run);
	if (!ok) {
		cJSON_Delete(v);
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	cJSON *data = NULL;
	const enum aero_sink_result r = graphql(w, ctx, "UpsertBucket", upsert_query, v, &data);
	if (r != AERO_SINK_OK)
		return r;
	*bucket = cJSON_DetachItemFromObjectCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(data, "upsertBucket"), "bucket");
	cJSON_Delete(data);
	return AERO_SINK_OK;
}

/* Uploads the manifest as a run file: createRunFiles, then a PUT of its bytes
 * to the signed URL, without our credentials. */
static enum aero_sink_result upload_manifest(struct wandb *w, struct aero_sink_ctx *ctx)
{
	cJSON *v = cJSON_CreateObject();
	cJSON *files = cJSON_CreateArray();
	if (v == NULL || files == NULL ||
	    !cJSON_AddItemToObject(v, "entity", string_or_null(aero_sink_remote(ctx, "entity"))) ||
	    !cJSON_AddItemToObject(v, "project",
	                           string_or_null(aero_sink_remote(ctx, "project"))) ||
	    !cJSON_AddItemToObject(v, "run", string_or_null(aero_sink_remote(ctx, "run_id"))) ||
	    !cJSON_AddItemToArray(files, cJSON_CreateString(MANIFEST_FILE)) ||
	    !cJSON_AddItemToObject(v, "files", files)) {
		cJSON_Delete(v);
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	cJSON *data = NULL;
	enum aero_sink_result r = graphql(w, ctx, "CreateRunFiles", create_files_query, v, &data);
	if (r != AERO_SINK_OK)
		return r;
	const cJSON *created = cJSON_GetObjectItemCaseSensitive(data, "createRunFiles");
	const cJSON *file =
	        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(created, "files"), 0);
	const cJSON *url = cJSON_GetObjectItemCaseSensitive(file, "uploadUrl");
	const cJSON *extra = cJSON_GetObjectItemCaseSensitive(created, "uploadHeaders");
	char *manifest_path = aero_path_join(ctx->run_dir, "manifest.json");
	char *text = manifest_path != NULL ? aero_file_read(manifest_path, JSON_MAX, NULL) : NULL;
	free(manifest_path);
	const int n = cJSON_IsArray(extra) ? cJSON_GetArraySize(extra) : 0;
	const char **headers = calloc((size_t)n + 1, sizeof(*headers));
	char **owned = calloc((size_t)n + 1, sizeof(*owned));
	if (!cJSON_IsString(url)) {
		aero_error_set("CreateRunFiles: no upload URL in the answer");
		r = AERO_SINK_RETRY;
	} else if (text == NULL || headers == NULL || owned == NULL) {
		aero_error_set("cannot read the manifest to upload it");
		r = AERO_SINK_RETRY;
	} else {
		/* uploadHeaders come as "Key:Value"; libcurl wants "Key: Value". */
		int k = 0;
		for (const cJSON *h = extra != NULL ? extra->child : NULL; h != NULL; h = h->next) {
			if (!cJSON_IsString(h) || strchr(h->valuestring, ':') == NULL)
				continue;
			const char *colon = strchr(h->valuestring, ':');
			owned[k] = malloc(strlen(h->valuestring) + 2);
			if (owned[k] == NULL)
				break;
			(void)sprintf(owned[k], "%.*s: %s", (int)(colon - h->valuestring),
			              h->valuestring, colon + 1);
			headers[k] = owned[k];
			k++;
		}
		const struct aero_http_request req = {.method = "PUT",
		                                      .url = url->valuestring,
		                                      .headers = headers,
		                                      .body = text,
		                                      .body_len = strlen(text),
		                                      .no_auth = true};
		struct aero_http_response res;
		(void)aero_http_perform(w->http, &req, &res);
		r = aero_sink_judge(ctx, &res, "uploading the manifest");
		aero_http_response_free(&res);
		for (int i = 0; i < k; i++)
			free(owned[i]);
	}
	free(headers);
	free(owned);
	free(text);
	cJSON_Delete(data);
	if (r == AERO_SINK_OK)
		aero_sink_set_remote(ctx, "manifest", "uploaded");
	return r;
}

static enum aero_sink_result wandb_begin(void *sink, struct aero_sink_ctx *ctx,
                                         const struct aero_batch *b)
{
	struct wandb *w = sink;
	cJSON *bucket = NULL;
	enum aero_sink_result r = upsert(w, ctx, b->manifest, &bucket);
	if (r != AERO_SINK_OK)
		return r;
	const cJSON *project = cJSON_GetObjectItemCaseSensitive(bucket, "project");
	const cJSON *pname = cJSON_GetObjectItemCaseSensitive(project, "name");
	const cJSON *ename = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(project, "entity"), "name");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(bucket, "name");
	if (!cJSON_IsString(pname) || !cJSON_IsString(ename) || !cJSON_IsString(name)) {
		cJSON_Delete(bucket);
		aero_error_set("UpsertBucket: the answer has no run, project or entity name");
		return AERO_SINK_FAILED;
	}
	aero_sink_set_remote(ctx, "entity", ename->valuestring);
	aero_sink_set_remote(ctx, "project", pname->valuestring);
	aero_sink_set_remote(ctx, "run_id", name->valuestring);
	cJSON_Delete(bucket);
	aero_log_notice("wandb: run %s/%s/%s/runs/%s", w->app, aero_sink_remote(ctx, "entity"),
	                aero_sink_remote(ctx, "project"), aero_sink_remote(ctx, "run_id"));
	if (aero_sink_remote(ctx, "manifest") == NULL)
		r = upload_manifest(w, ctx);
	return r;
}

/* ---- file_stream ---- */

/* One history or summary line for W&B: NaN and infinities as bare tokens. */
static char *history_line(const char *line, size_t len, cJSON *last)
{
	cJSON *row = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(row)) {
		cJSON_Delete(row);
		return strndup(line, len); /* cannot happen with our spool; pass it on */
	}
	for (cJSON *item = row->child; last != NULL && item != NULL; item = item->next) {
		cJSON *copy = cJSON_Duplicate(item, 1);
		if (copy != NULL &&
		    !cJSON_ReplaceItemInObjectCaseSensitive(last, item->string, copy) &&
		    !cJSON_AddItemToObject(last, item->string, copy))
			cJSON_Delete(copy);
	}
	char *text = NULL;
	if (memmem(line, len, "\"NaN\"", 5) != NULL || memmem(line, len, "Infinity\"", 9) != NULL)
		text = aero_sink_print_specials(row);
	else
		text = strndup(line, len);
	cJSON_Delete(row);
	return text;
}

/* A system sample as a W&B event: system.* names, _wandb set. */
static char *event_line(const char *line, size_t len)
{
	cJSON *row = cJSON_ParseWithLength(line, len);
	cJSON *event = cJSON_CreateObject();
	char *text = NULL;
	if (cJSON_IsObject(row) && event != NULL) {
		char key[96];
		for (const cJSON *item = row->child; item != NULL; item = item->next) {
			if (cJSON_IsNumber(item) && item->string[0] == '_') {
				cJSON_AddNumberToObject(event, item->string, item->valuedouble);
			} else if (cJSON_IsNumber(item)) {
				(void)snprintf(key, sizeof(key), "system.%s", item->string);
				cJSON_AddNumberToObject(event, key, item->valuedouble);
			} else if (cJSON_IsArray(item) && strcmp(item->string, "gpus") == 0) {
				int i = 0;
				for (const cJSON *gpu = item->child; gpu != NULL;
				     gpu = gpu->next, i++) {
					const cJSON *util = cJSON_GetObjectItemCaseSensitive(
					        gpu, "utilization_percent");
					const cJSON *mem = cJSON_GetObjectItemCaseSensitive(
					        gpu, "memory_used_mib");
					if (cJSON_IsNumber(util)) {
						(void)snprintf(key, sizeof(key),
						               "system.gpu.%d.gpu", i);
						cJSON_AddNumberToObject(event, key,
						                        util->valuedouble);
					}
					if (cJSON_IsNumber(mem)) {
						(void)snprintf(key, sizeof(key),
						               "system.gpu.%d.memoryAllocatedBytes",
						               i);
						cJSON_AddNumberToObject(
						        event, key, mem->valuedouble * 1048576.0);
					}
				}
			}
		}
		cJSON_AddTrueToObject(event, "_wandb");
		text = aero_json_canonical(event);
	}
	cJSON_Delete(row);
	cJSON_Delete(event);
	return text;
}

/* A console line for W&B's output.log: "TIME TEXT" for stdout and "ERROR TIME
 * TEXT" for stderr, the time without its Z. */
static char *console_line(const char *line, size_t len)
{
	const char *sp1 = memchr(line, ' ', len);
	const char *sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line)) : NULL;
	if (sp1 == NULL || sp2 == NULL)
		return strndup(line, len);
	const size_t tlen = (size_t)(sp1 - line) - (sp1 > line && sp1[-1] == 'Z');
	const bool err = sp2 - sp1 >= 4 && strncmp(sp1 + 1, "err", 3) == 0;
	const size_t rest = len - (size_t)(sp2 + 1 - line);
	char *out = malloc(tlen + rest + 8);
	if (out != NULL)
		(void)sprintf(out, "%s%.*s %.*s", err ? "ERROR " : "", (int)tlen, line, (int)rest,
		              sp2 + 1);
	return out;
}

typedef char *(*line_fn)(const char *line, size_t len, cJSON *last);

static char *plain_event(const char *line, size_t len, cJSON *last)
{
	(void)last;
	return event_line(line, len);
}

static char *plain_console(const char *line, size_t len, cJSON *last)
{
	(void)last;
	return console_line(line, len);
}

/* Adds {"offset": first, "content": [lines...]} for one file; -1 when out of memory. */
static int add_file(cJSON *files, const char *name, const struct aero_lines *lines, line_fn convert,
                    cJSON *last)
{
	if (lines->count == 0)
		return 0;
	cJSON *file = cJSON_AddObjectToObject(files, name);
	cJSON *content = file != NULL ? cJSON_CreateArray() : NULL;
	if (content == NULL ||
	    cJSON_AddNumberToObject(file, "offset", (double)lines->first) == NULL ||
	    !cJSON_AddItemToObject(file, "content", content)) {
		cJSON_Delete(content);
		return -1;
	}
	const char *p = lines->text;
	const char *end = lines->text + lines->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const size_t len = (size_t)((nl != NULL ? nl : end) - p);
		char *text = convert(p, len, last);
		cJSON *s = text != NULL ? cJSON_CreateString(text) : NULL;
		free(text);
		if (s == NULL || !cJSON_AddItemToArray(content, s)) {
			cJSON_Delete(s);
			return -1;
		}
		p += len + 1;
	}
	return 0;
}

/* The summary: the last value of every history key, then summary.json over it. */
static char *summary_line(const struct aero_sink_ctx *ctx, const cJSON *last)
{
	cJSON *summary = cJSON_Duplicate(last, 1);
	cJSON *own = aero_file_read_json(ctx->run_dir, "summary.json", JSON_MAX);
	for (const cJSON *item = own != NULL ? own->child : NULL; summary != NULL && item != NULL;
	     item = item->next) {
		cJSON *copy = cJSON_Duplicate(item, 1);
		if (copy != NULL &&
		    !cJSON_ReplaceItemInObjectCaseSensitive(summary, item->string, copy) &&
		    !cJSON_AddItemToObject(summary, item->string, copy))
			cJSON_Delete(copy);
	}
	char *text = summary != NULL ? aero_sink_print_specials(summary) : NULL;
	cJSON_Delete(summary);
	cJSON_Delete(own);
	return text;
}

static char *stream_path(const struct aero_sink_ctx *ctx)
{
	const char *e = aero_sink_remote(ctx, "entity");
	const char *p = aero_sink_remote(ctx, "project");
	const char *r = aero_sink_remote(ctx, "run_id");
	if (e == NULL || p == NULL || r == NULL)
		return NULL;
	char *ee = aero_http_escape(e);
	char *pe = aero_http_escape(p);
	char *re = aero_http_escape(r);
	char *path = NULL;
	if (ee != NULL && pe != NULL && re != NULL) {
		path = malloc(strlen(ee) + strlen(pe) + strlen(re) + 32);
		if (path != NULL)
			(void)sprintf(path, "/files/%s/%s/%s/file_stream", ee, pe, re);
	}
	free(ee);
	free(pe);
	free(re);
	return path;
}

/* POSTs one file_stream request; a "stopped" answer asks for the run to stop. */
static enum aero_sink_result stream(struct wandb *w, struct aero_sink_ctx *ctx, const cJSON *body,
                                    const char *what)
{
	char *path = stream_path(ctx);
	if (path == NULL) {
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	cJSON *answer = NULL;
	const enum aero_sink_result r = post(w, ctx, path, body, what, &answer);
	free(path);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(answer, "stopped")))
		ctx->stop_requested = true;
	cJSON_Delete(answer);
	return r;
}

static enum aero_sink_result wandb_send(void *sink, struct aero_sink_ctx *ctx,
                                        const struct aero_batch *b)
{
	struct wandb *w = sink;
	enum aero_sink_result r = AERO_SINK_OK;
	if (b->config != NULL || b->run != NULL || b->artifacts.count > 0) {
		/* Artifacts got or put: the manifest (which the courier keeps up to
		 * date with the journal) lists them as inputs and outputs, and the
		 * config's copy of it is brought up to date. */
		cJSON *bucket = NULL;
		r = upsert(w, ctx, b->manifest, &bucket);
		cJSON_Delete(bucket);
		if (r != AERO_SINK_OK)
			return r;
	}
	const char *manifest = aero_sink_remote(ctx, "manifest");
	const bool listing = manifest != NULL && strcmp(manifest, "uploaded") == 0;
	const bool quiet = b->metrics.count == 0 && b->system.count == 0 && b->console.count == 0 &&
	                   b->summary == NULL && !listing;
	if (quiet && aero_clock_monotonic_ms() - w->last_request_ms < HEARTBEAT_MS)
		return AERO_SINK_OK;
	cJSON *last = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ctx->remote, "last"), 1);
	if (last == NULL)
		last = cJSON_CreateObject();
	cJSON *body = cJSON_CreateObject();
	cJSON *files = body != NULL ? cJSON_AddObjectToObject(body, "files") : NULL;
	bool ok = files != NULL && last != NULL &&
	          add_file(files, "wandb-history.jsonl", &b->metrics, history_line, last) == 0 &&
	          add_file(files, "wandb-events.jsonl", &b->system, plain_event, NULL) == 0 &&
	          add_file(files, "output.log", &b->console, plain_console, NULL) == 0;
	if (ok && (b->metrics.count > 0 || b->summary != NULL)) {
		char *summary = summary_line(ctx, last);
		cJSON *file = summary != NULL ? cJSON_AddObjectToObject(files, "wandb-summary.json")
		                              : NULL;
		cJSON *content = file != NULL ? cJSON_AddArrayToObject(file, "content") : NULL;
		ok = content != NULL && cJSON_AddNumberToObject(file, "offset", 0) != NULL &&
		     cJSON_AddItemToArray(content, cJSON_CreateString(summary));
		free(summary);
	}
	if (ok && listing) {
		cJSON *uploaded = cJSON_AddArrayToObject(body, "uploaded");
		ok = uploaded != NULL &&
		     cJSON_AddItemToArray(uploaded, cJSON_CreateString(MANIFEST_FILE));
	}
	if (!ok) {
		cJSON_Delete(body);
		cJSON_Delete(last);
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	/* A heartbeat is the empty object, which `files` still is when quiet. */
	r = stream(w, ctx, quiet ? files : body, quiet ? "heartbeat" : "file_stream");
	cJSON_Delete(body);
	if (r == AERO_SINK_OK) {
		if (!cJSON_ReplaceItemInObjectCaseSensitive(ctx->remote, "last", last) &&
		    !cJSON_AddItemToObject(ctx->remote, "last", last))
			cJSON_Delete(last);
		if (listing)
			aero_sink_set_remote(ctx, "manifest", "listed");
	} else {
		cJSON_Delete(last);
	}
	return r;
}

static enum aero_sink_result wandb_finish(void *sink, struct aero_sink_ctx *ctx,
                                          const struct aero_outcome *outcome)
{
	struct wandb *w = sink;
	cJSON *body = cJSON_CreateObject();
	if (body == NULL || cJSON_AddObjectToObject(body, "files") == NULL ||
	    cJSON_AddTrueToObject(body, "complete") == NULL ||
	    cJSON_AddNumberToObject(body, "exitcode", outcome->exit_status) == NULL) {
		cJSON_Delete(body);
		aero_error_set("out of memory");
		return AERO_SINK_RETRY;
	}
	const enum aero_sink_result r = stream(w, ctx, body, "finishing the run");
	cJSON_Delete(body);
	return r;
}

const struct aero_sink_ops aero_sink_wandb = {
        .name = "wandb",
        .open = wandb_open,
        .begin = wandb_begin,
        .send = wandb_send,
        .finish = wandb_finish,
        .close = wandb_close,
};
