/* lib/vercmp.c: two versions from the input (split at the first NUL or
 * newline) are ordered consistently: a version equals itself and swapping
 * the two flips the sign. */
#include "vercmp.h"

#include "support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	char *b = text + strcspn(text, "\n");
	if (*b != '\0')
		*b++ = '\0';
	char *c = b + strcspn(b, "\n");
	if (*c != '\0')
		*c++ = '\0';
	if (aero_version_compare(text, text) != 0 || aero_version_compare(b, b) != 0)
		abort();
	const int ab = sign(aero_version_compare(text, b));
	if (ab != -sign(aero_version_compare(b, text)))
		abort();
	/* Transitivity, where the third version is there. */
	if (*c != '\0') {
		const int bc = sign(aero_version_compare(b, c));
		const int ac = sign(aero_version_compare(text, c));
		if (ab == bc && ab != 0 && ac != ab)
			abort();
	}
	free(text);
	return 0;
}
