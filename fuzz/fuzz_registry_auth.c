/* The Docker registry credentials (host/registry_auth.c), with the input as
 * DOCKER_AUTH_CONFIG: the headers made for a push and for a build are
 * URL-safe base64 of a JSON object. */
#include "registry_auth.h"

#include "base64.h"
#include "log.h"
#include "support.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("DOCKER_CONFIG", fuzz_tmp_dir(), 1); /* empty: used when the input is */
	aero_log_init("fuzz", -1);
	return 0;
}

static void check_header(const char *header)
{
	if (header == NULL)
		return;
	size_t count = 0;
	unsigned char *json = aero_base64_decode(header, &count);
	cJSON *doc = json != NULL ? cJSON_Parse((const char *)json) : NULL;
	if (!cJSON_IsObject(doc))
		abort();
	cJSON_Delete(doc);
	free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	setenv("DOCKER_AUTH_CONFIG", text, 1);
	static const char *const registries[] = {"docker.io", "ghcr.io", "localhost:5000", ""};
	for (size_t i = 0; i < sizeof(registries) / sizeof(registries[0]); i++) {
		char *header = aero_registry_auth(registries[i]);
		check_header(header);
		free(header);
	}
	char *config = NULL;
	if (aero_registry_config(&config) == 0)
		check_header(config);
	free(config);
	free(text);
	return 0;
}
