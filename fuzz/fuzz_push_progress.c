/* aero-launch's reading of the engine's answer to an image push
 * (host/engine_push.c): the status, the JSON progress lines in pieces of any
 * size, error and message lines, the digest. */
#include "engine_push.h"

#include "log.h"
#include "support.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	aero_log_init("fuzz", -1);
	const size_t chunk = data[0] % 8 == 0 ? 0 : (size_t)1 << (data[0] % 8 - 1);
	fuzz_curl_serve((const char *)data + 1, size - 1, chunk);
	char *digest = NULL;
	const int rc = aero_image_push(NULL, "registry.invalid/fuzz", "v1", "e30", &digest);
	if ((rc == 0) != (digest != NULL))
		abort();
	free(digest);
	return 0;
}
