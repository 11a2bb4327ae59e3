/* Retry-After in a tracker's answer (shim/sinks/http.c): the input is the
 * answer's header lines; the delay read is -1 (none) or not negative. */
#include "http.h"

#include "support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct aero_http *http;
	if (http == NULL && (http = aero_http_open(NULL, NULL, NULL)) == NULL)
		abort();
	/* "429", then the input as headers, and no body. */
	char *answer = malloc(size + 5);
	if (answer == NULL)
		abort();
	memcpy(answer, "429\n", 4);
	memcpy(answer + 4, data, size);
	fuzz_curl_serve(answer, size + 4, 0);
	const struct aero_http_request req = {.method = "GET", .url = "http://fuzz.invalid/"};
	struct aero_http_response res;
	if (aero_http_perform(http, &req, &res) == 0 && res.retry_after_ms < -1)
		abort();
	aero_http_response_free(&res);
	free(answer);
	return 0;
}
