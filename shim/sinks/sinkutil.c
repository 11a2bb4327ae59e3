/* Small things the tracker sinks share. */
#include "sinkutil.h"

#include "canonjson.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum aero_sink_result aero_sink_judge(struct aero_sink_ctx *ctx,
                                      const struct aero_http_response *res, const char *what)
{
	if (res->status >= 200 && res->status < 300)
		return AERO_SINK_OK;
	ctx->retry_after_ms = res->retry_after_ms;
	if (res->status == 0) {
		aero_error_set("%s: %s", what, res->error);
	} else {
		/* The start of the answer, on one line. */
		char start[201];
		size_t n = 0;
		for (size_t i = 0; res->body != NULL && i < res->len && n < sizeof(start) - 1;
		     i++) {
			char ch = res->body[i];
			if (ch == '\n' || ch == '\r')
				ch = ' ';
			start[n++] = ch;
		}
		start[n] = '\0';
		aero_error_set("%s: HTTP %ld%s%s", what, res->status, n > 0 ? ": " : "", start);
	}
	return aero_http_retryable(res->status) ? AERO_SINK_RETRY : AERO_SINK_FAILED;
}

static bool special(const cJSON *item)
{
	return cJSON_IsString(item) && (strcmp(item->valuestring, "NaN") == 0 ||
	                                strcmp(item->valuestring, "Infinity") == 0 ||
	                                strcmp(item->valuestring, "-Infinity") == 0);
}

struct text {
	char *s;
	size_t len;
	size_t cap;
	bool failed;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap < 256 ? 256 : t->cap;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *grown = realloc(t->s, cap);
		if (grown == NULL) {
			t->failed = true;
			return;
		}
		t->s = grown;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void put_json(struct text *t, const cJSON *item)
{
	char *s = aero_json_canonical(item);
	if (s == NULL)
		t->failed = true;
	else
		put(t, s, strlen(s));
	free(s);
}

char *aero_sink_print_specials(const cJSON *object)
{
	struct text t = {0};
	put(&t, "{", 1);
	for (const cJSON *item = object->child; item != NULL; item = item->next) {
		if (item != object->child)
			put(&t, ",", 1);
		cJSON *key = cJSON_CreateString(item->string);
		if (key == NULL)
			t.failed = true;
		else
			put_json(&t, key);
		cJSON_Delete(key);
		put(&t, ":", 1);
		if (special(item))
			put(&t, item->valuestring, strlen(item->valuestring));
		else
			put_json(&t, item);
	}
	put(&t, "}", 1);
	if (t.failed) {
		free(t.s);
		return NULL;
	}
	return t.s;
}

const char *aero_sink_remote(const struct aero_sink_ctx *ctx, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx->remote, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void aero_sink_set_remote(struct aero_sink_ctx *ctx, const char *key, const char *value)
{
	cJSON *v = cJSON_CreateString(value);
	if (v != NULL && !cJSON_ReplaceItemInObjectCaseSensitive(ctx->remote, key, v) &&
	    !cJSON_AddItemToObject(ctx->remote, key, v))
		cJSON_Delete(v);
}

const char *aero_sink_manifest_string(const cJSON *manifest, const char *section, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(manifest, section), key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *aero_sink_env(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

bool aero_sink_mlflow_insecure_tls(void)
{
	const char *insecure = aero_sink_env("MLFLOW_TRACKING_INSECURE_TLS");
	return insecure != NULL && strcmp(insecure, "true") == 0;
}

double aero_sink_parse_utc(const char *text)
{
	struct tm tm = {0};
	const char *rest = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
	if (rest == NULL)
		return 0;
	const double fraction = *rest == '.' ? strtod(rest, NULL) : 0;
	return (double)timegm(&tm) + fraction;
}
