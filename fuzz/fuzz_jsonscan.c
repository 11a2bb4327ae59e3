/* The channel's JSON scanner (lib/jsonscan.c) on any bytes: it must never
 * read outside them, and what it accepts, cJSON (which the channel and the
 * courier parse the same text with later) must accept too. */
#include "jsonscan.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that ASan sees a read past the end. */
	char *text = malloc(size > 0 ? size : 1);
	if (text == NULL)
		return 0;
	for (size_t i = 0; i < size; i++)
		text[i] = (char)data[i];
	struct aero_json_member m[] = {{.name = "type"}, {.name = "data"}, {.name = "step"},
	                               {.name = "tags"}, {.name = "text"}, {.name = ""}};
	const size_t count = sizeof(m) / sizeof(m[0]);
	if (aero_json_scan_object(text, size, m, count) == 0) {
		cJSON *doc = cJSON_ParseWithLength(text, size);
		if (doc == NULL || !cJSON_IsObject(doc))
			abort(); /* valid for the scanner, not for cJSON */
		cJSON_Delete(doc);
		for (size_t i = 0; i < count; i++) {
			if (m[i].kind == AERO_JSON_ABSENT)
				continue;
			if (m[i].value < text || m[i].value + m[i].len > text + size)
				abort();
			if (m[i].kind == AERO_JSON_STRING) {
				(void)aero_json_string_is(m[i].value, m[i].len, "log");
				(void)aero_json_string_is(m[i].value, m[i].len, "");
			}
			long long whole = 0;
			if (m[i].kind == AERO_JSON_NUMBER &&
			    aero_json_whole_number(m[i].value, m[i].len, 9000000000000000LL,
			                           &whole) == 0 &&
			    (whole < 0 || whole > 9000000000000000LL))
				abort();
		}
	}
	free(text);
	return 0;
}
