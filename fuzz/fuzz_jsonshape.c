/* A log record's shape (lib/jsonshape.c) on any bytes: the input is a text
 * to learn, a newline, then texts to match, one after another. Whatever
 * matches, the full scan (lib/jsonscan.c) must accept, with the same
 * members; nothing is read outside the bytes. */
#include "jsonscan.h"
#include "jsonshape.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MEMBERS = 5 };

static void name(struct aero_json_member *m)
{
	static const char *const names[MEMBERS] = {"type", "data", "step", "tags", "text"};
	for (int i = 0; i < MEMBERS; i++)
		m[i].name = names[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	if (nl == NULL)
		return 0;
	struct aero_json_member m[MEMBERS], full[MEMBERS];
	name(m);
	name(full);
	const size_t learned = (size_t)(nl - data);
	char *text = malloc(size > 0 ? size : 1); /* exact size: ASan sees a read past it */
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	/* Made for the learned text, as the channel makes it: later texts may
	 * be longer than its room, and ASan sees a read past its end. */
	struct aero_json_shape *shape = aero_json_shape_new(learned);
	if (shape == NULL || aero_json_scan_object(text, learned, m, MEMBERS) != 0 ||
	    aero_json_shape_learn(shape, text, learned, m, MEMBERS) != 0) {
		aero_json_shape_free(shape);
		free(text);
		return 0;
	}
	/* Each candidate is matched where it starts, with the rest of the input
	 * after it, as the channel does with a read's lines. */
	for (size_t at = learned + 1; at < size;) {
		const size_t n = aero_json_shape_match(shape, text + at, size - at, m);
		if (n > 0) {
			if (aero_json_scan_object(text + at, n, full, MEMBERS) != 0)
				abort(); /* matched what the full scan refuses */
			for (int i = 0; i < MEMBERS; i++) {
				if (m[i].kind != full[i].kind ||
				    m[i].underscore_key != full[i].underscore_key ||
				    (full[i].kind != AERO_JSON_ABSENT &&
				     (m[i].value != full[i].value || m[i].len != full[i].len)))
					abort();
			}
		}
		const char *next = memchr(text + at, '\n', size - at);
		if (next == NULL)
			break;
		at = (size_t)(next - text) + 1;
	}
	aero_json_shape_free(shape);
	free(text);
	return 0;
}
