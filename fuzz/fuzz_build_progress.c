/* aero-launch's reading of the engine's answer to POST /build (host/build.c
 * and engine.c's line splitting): the HTTP status, the newline-delimited JSON
 * progress in pieces of any size, a last line without its newline, error
 * bodies; the failure's class and message, or the image's id. */
#include "build.h"

#include "log.h"
#include "support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* No registry credentials: an empty configuration directory. */
	unsetenv("DOCKER_AUTH_CONFIG");
	setenv("DOCKER_CONFIG", fuzz_tmp_dir(), 1);
	aero_log_init("fuzz", -1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const size_t chunk = data[0] % 8 == 0 ? 0 : (size_t)1 << (data[0] % 8 - 1);
	fuzz_curl_serve((const char *)data + 1, size - 1, chunk);
	cJSON *labels = cJSON_Parse("{\"aeromancy.commit\":\"0123\"}");
	const struct aero_build_request req = {.tag = "fuzz:0123456789ab",
	                                       .dockerfile = "Dockerfile",
	                                       .labels = labels,
	                                       .quiet = true};
	char *image_id = NULL;
	const int rc = aero_image_build(NULL, NULL, &req, &image_id);
	if ((rc == 0) != (image_id != NULL))
		abort();
	free(image_id);
	cJSON_Delete(labels);
	return 0;
}
