/* lib/utf8.c: sanitizing any bytes gives valid UTF-8 within the bound the
 * header promises, sanitizing that again changes nothing, and the cut point
 * for a stream is never more than a character's first bytes. */
#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *src = malloc(size > 0 ? size : 1);
	char *once = malloc(AERO_UTF8_SANITIZED_MAX(size) + 1);
	char *twice = malloc(AERO_UTF8_SANITIZED_MAX(AERO_UTF8_SANITIZED_MAX(size)) + 1);
	if (src == NULL || once == NULL || twice == NULL)
		abort();
	memcpy(src, data, size);
	const size_t n = aero_utf8_sanitize(once, src, size);
	if (n > AERO_UTF8_SANITIZED_MAX(size))
		abort();
	if (aero_utf8_incomplete_tail(once, n) != 0)
		abort(); /* valid text ends with a whole character */
	const size_t m = aero_utf8_sanitize(twice, once, n);
	if (m != n || memcmp(once, twice, n) != 0)
		abort(); /* valid UTF-8 without NULs comes through as it is */
	if (aero_utf8_is_plain(src, size) && (n != size || memcmp(src, once, size) != 0))
		abort();
	const size_t tail = aero_utf8_incomplete_tail(src, size);
	if (tail > 3 || tail > size)
		abort();
	free(src);
	free(once);
	free(twice);
	return 0;
}
