/* The run manifest differ (shim/diff.c): two manifests from the input (split
 * at a line "%%"), compared both ways and printed; a manifest has no changes
 * against itself (unless an object in it has a name twice). */
#include "diff.h"

#include "support.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether an object in doc has a name twice: the differ looks members up by
 * name, so the second is compared with the first (manifests never have one). */
static bool has_duplicate_names(const cJSON *doc)
{
	for (const cJSON *c = doc->child; c != NULL; c = c->next) {
		if (cJSON_IsObject(doc))
			for (const cJSON *d = c->next; d != NULL; d = d->next)
				if (strcmp(c->string, d->string) == 0)
					return true;
		if (has_duplicate_names(c))
			return true;
	}
	return false;
}

static void diff_and_print(const cJSON *a, const cJSON *b, FILE *out)
{
	cJSON *changes = aero_manifest_diff(a, b);
	if (changes == NULL)
		abort();
	if (a == b && cJSON_GetArraySize(changes) != 0 && !has_duplicate_names(a))
		abort();
	(void)aero_manifest_diff_print(changes, out);
	cJSON_Delete(changes);
}

/* A manifest as aero-init diff loads one: a JSON object with a schema number. */
static cJSON *manifest(const char *text, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(text, len);
	if (cJSON_IsObject(doc) && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(doc, "schema")))
		return doc;
	cJSON_Delete(doc);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *out;
	if (out == NULL && (out = fopen("/dev/null", "we")) == NULL)
		abort();
	const char *parts[2];
	size_t lens[2];
	const size_t n = fuzz_split((const char *)data, size, "\n%%\n", parts, lens, 2);
	cJSON *a = manifest(parts[0], lens[0]);
	cJSON *b = n == 2 ? manifest(parts[1], lens[1]) : NULL;
	if (a != NULL) {
		diff_and_print(a, a, out);
		if (b != NULL) {
			diff_and_print(a, b, out);
			diff_and_print(b, a, out);
		}
	}
	cJSON_Delete(a);
	cJSON_Delete(b);
	return 0;
}
