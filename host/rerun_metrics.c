/* Final metrics as their recorded JSON texts: comparing the texts, not the
 * doubles they read as, is what "bit-identical" means to a person who logged
 * them (1.0 and 1 differ; so do 0.30000000000000004 and 0.3). */
#include "rerun_metrics.h"

#include "canonjson.h"
#include "error.h"
#include "file.h"
#include "jsonscan.h"
#include "runsdir.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* summary.json is small: a run's final values, not its history. */
#define SUMMARY_MAX ((size_t)64 << 20)

/* key := text in final (a copy of text's first len bytes). 0, or -1. */
static int set_text(cJSON *final, const char *key, const char *text, size_t len)
{
	char *copy = strndup(text, len);
	cJSON *value = copy != NULL ? cJSON_CreateString(copy) : NULL;
	free(copy);
	if (value == NULL)
		return -1;
	const bool ok = cJSON_GetObjectItemCaseSensitive(final, key) != NULL
	                        ? cJSON_ReplaceItemInObjectCaseSensitive(final, key, value)
	                        : cJSON_AddItemToObject(final, key, value);
	if (!ok)
		cJSON_Delete(value);
	return ok ? 0 : -1;
}

/* The members of one JSON object text into final, each as its own text; keys
 * that start with '_' are left out unless prefix is given. A line that is not
 * a JSON object (a torn last line) gives nothing. 0, or -1 when out of memory. */
static int take_object(const char *text, size_t len, const char *prefix, cJSON *final)
{
	cJSON *doc = cJSON_ParseWithLength(text, len);
	const int size = cJSON_IsObject(doc) ? cJSON_GetArraySize(doc) : 0;
	struct aero_json_member *members = calloc((size_t)size + 1, sizeof(*members));
	const cJSON **items = calloc((size_t)size + 1, sizeof(const cJSON *));
	int rc = members != NULL && items != NULL ? 0 : -1;
	size_t n = 0;
	for (const cJSON *c = size > 0 ? doc->child : NULL; c != NULL && rc == 0; c = c->next)
		if (prefix != NULL || c->string[0] != '_') {
			members[n].name = c->string;
			items[n++] = c;
		}
	if (rc == 0 && n > 0 && aero_json_scan_object(text, len, members, n) < 0)
		n = 0; /* a name twice: which value counts is unclear, so none does */
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *key = NULL;
		if (asprintf(&key, "%s%s", prefix != NULL ? prefix : "", members[i].name) < 0) {
			rc = -1;
			break;
		}
		if (members[i].kind != AERO_JSON_ABSENT) {
			rc = set_text(final, key, members[i].value, members[i].len);
		} else {
			/* The scanner finds ASCII names only: a name beyond ASCII is
			 * compared in canonical form, which tells doubles apart too. */
			char *canonical = aero_json_canonical(items[i]);
			rc = canonical != NULL ? set_text(final, key, canonical, strlen(canonical))
			                       : -1;
			free(canonical);
		}
		free(key);
	}
	free(members);
	free(items);
	cJSON_Delete(doc);
	return rc;
}

/* Every line of dir/name through take_object. 0 (also when it does not exist), or -1. */
static int take_file(const char *dir, const char *name, const char *prefix, cJSON *final)
{
	char *path = aero_path_join(dir, name);
	if (path == NULL)
		return aero_error_set("out of memory");
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		const int rc = errno == ENOENT ? 0
		                               : aero_error_set("cannot read %s: %s", path,
		                                                strerror(errno));
		free(path);
		return rc;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;
	while (rc == 0 && (len = getline(&line, &cap, f)) > 0)
		if (take_object(line, (size_t)len, prefix, final) < 0)
			rc = aero_error_set("out of memory");
	if (rc == 0 && ferror(f))
		rc = aero_error_set("cannot read %s", path);
	free(line);
	fclose(f);
	free(path);
	return rc;
}

cJSON *aero_run_final_metrics(const char *run_dir)
{
	cJSON *final = cJSON_CreateObject();
	char *summary_path = aero_path_join(run_dir, "summary.json");
	if (final == NULL || summary_path == NULL) {
		cJSON_Delete(final);
		free(summary_path);
		aero_error_set("out of memory");
		return NULL;
	}
	int rc = take_file(run_dir, "metrics.jsonl", NULL, final);
	/* summary.json is one object, which may span lines: read whole. */
	if (rc == 0 && access(summary_path, F_OK) == 0) {
		size_t len = 0;
		char *summary = aero_file_read(summary_path, SUMMARY_MAX, &len);
		rc = summary == NULL ? -1 : take_object(summary, len, "summary.", final);
		free(summary);
	}
	free(summary_path);
	if (rc < 0) {
		cJSON_Delete(final);
		return NULL;
	}
	return final;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of a and b, sorted, each once; NULL when out of memory. */
static const char **keys_of(const cJSON *a, const cJSON *b, size_t *count)
{
	const size_t most = (size_t)cJSON_GetArraySize(a) + (size_t)cJSON_GetArraySize(b);
	const char **keys = calloc(most + 1, sizeof(*keys));
	size_t n = 0;
	for (const cJSON *c = a != NULL ? a->child : NULL; keys != NULL && c != NULL; c = c->next)
		keys[n++] = c->string;
	for (const cJSON *c = b != NULL ? b->child : NULL; keys != NULL && c != NULL; c = c->next)
		if (cJSON_GetObjectItemCaseSensitive(a, c->string) == NULL)
			keys[n++] = c->string;
	if (keys != NULL)
		qsort(keys, n, sizeof(*keys), by_name);
	*count = n;
	return keys;
}

/* One row: {"old": TEXT or null, "new": TEXT or null, "same": BOOL}. */
static cJSON *row_of(const cJSON *a, const cJSON *b, bool same)
{
	cJSON *row = cJSON_CreateObject();
	cJSON *from = cJSON_IsString(a) ? cJSON_CreateString(a->valuestring) : cJSON_CreateNull();
	cJSON *to = cJSON_IsString(b) ? cJSON_CreateString(b->valuestring) : cJSON_CreateNull();
	if (row == NULL || from == NULL || to == NULL || !cJSON_AddItemToObject(row, "old", from)) {
		cJSON_Delete(from);
		cJSON_Delete(to);
		cJSON_Delete(row);
		return NULL;
	}
	if (!cJSON_AddItemToObject(row, "new", to)) {
		cJSON_Delete(to);
		cJSON_Delete(row);
		return NULL;
	}
	if (cJSON_AddBoolToObject(row, "same", same) == NULL) {
		cJSON_Delete(row);
		return NULL;
	}
	return row;
}

cJSON *aero_metrics_compare(const cJSON *old, const cJSON *fresh, size_t *differences)
{
	*differences = 0;
	size_t count = 0;
	const char **keys = keys_of(old, fresh, &count);
	cJSON *out = keys != NULL ? cJSON_CreateObject() : NULL;
	for (size_t i = 0; out != NULL && i < count; i++) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(old, keys[i]);
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(fresh, keys[i]);
		const bool same = cJSON_IsString(a) && cJSON_IsString(b) &&
		                  strcmp(a->valuestring, b->valuestring) == 0;
		*differences += !same;
		cJSON *row = row_of(a, b, same);
		if (row == NULL || !cJSON_AddItemToObject(out, keys[i], row)) {
			cJSON_Delete(row);
			cJSON_Delete(out);
			out = NULL;
		}
	}
	free(keys);
	return out;
}

void aero_metrics_print(const cJSON *comparison, FILE *out)
{
	if (comparison == NULL || comparison->child == NULL) {
		fputs("metrics: none recorded by either run\n", out);
		return;
	}
	int width = 0;
	for (const cJSON *row = comparison->child; row != NULL; row = row->next) {
		const size_t len = strlen(row->string);
		if (len > (size_t)width)
			width = len > 40 ? 40 : (int)len;
	}
	fputs("metrics (the last value of each; the same when the JSON texts are):\n", out);
	for (const cJSON *row = comparison->child; row != NULL; row = row->next) {
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(row, "old");
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(row, "new");
		fprintf(out, "  %-*s  ", width, row->string);
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(row, "same")))
			fprintf(out, "same       %s\n", a->valuestring);
		else if (cJSON_IsString(a) && cJSON_IsString(b))
			fprintf(out, "different  %s -> %s\n", a->valuestring, b->valuestring);
		else if (cJSON_IsString(a))
			fprintf(out, "only in the original run: %s\n", a->valuestring);
		else
			fprintf(out, "only in the rerun: %s\n",
			        cJSON_IsString(b) ? b->valuestring : "?");
	}
}
