/* lib/base64.c: decoding any text (registry credentials are base64), and
 * encoding any bytes then decoding them again, in both alphabets. */
#include "base64.h"

#include "support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	size_t count = 0;
	unsigned char *decoded = aero_base64_decode(text, &count);
	if (decoded != NULL && (count > size || decoded[count] != '\0'))
		abort();
	free(decoded);
	free(text);
	for (int url_safe = 0; url_safe < 2; url_safe++) {
		char *encoded = aero_base64_encode(data, size, url_safe != 0);
		if (encoded == NULL)
			abort();
		unsigned char *back = aero_base64_decode(encoded, &count);
		if (back == NULL || count != size || (size > 0 && memcmp(back, data, size) != 0))
			abort();
		free(back);
		free(encoded);
	}
	return 0;
}
