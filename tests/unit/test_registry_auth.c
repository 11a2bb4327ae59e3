/* Unit tests: the Docker registry credentials aero-launch hands the engine. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../host/registry_auth.h"
#include "base64.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

/* The JSON inside a header's URL-safe base64, malloc'd. */
static char *decoded(const char *header)
{
	size_t count = 0;
	char *json = (char *)aero_base64_decode(header, &count);
	assert_non_null(json);
	return json;
}

static void test_credentials_found(void **state)
{
	(void)state;
	setenv("DOCKER_AUTH_CONFIG",
	       "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dXNlcjpwYXNz\"},"
	       "\"ghcr.io\":{\"identitytoken\":\"tok\"}}}",
	       1);
	char *header = aero_registry_auth("docker.io");
	assert_non_null(header);
	char *json = decoded(header);
	assert_string_equal(json, "{\"username\":\"user\",\"password\":\"pass\","
	                          "\"serveraddress\":\"docker.io\"}");
	free(json);
	free(header);
	char *config = NULL;
	assert_int_equal(aero_registry_config(&config), 0);
	assert_non_null(config);
	json = decoded(config);
	assert_non_null(strstr(json, "\"ghcr.io\":{\"identitytoken\":\"tok\""));
	free(json);
	free(config);
}

/* Found by fuzz/fuzz_registry_auth.c: "auths" as a list made both functions
 * compare its entries' names, which a list's entries do not have (NULL). */
static void test_auths_not_an_object(void **state)
{
	(void)state;
	setenv("DOCKER_AUTH_CONFIG", "{\"auths\":[1,2]}", 1);
	assert_null(aero_registry_auth("docker.io"));
	assert_non_null(strstr(aero_error_last(), "\"auths\" is not an object"));
	char *config = NULL;
	assert_int_equal(aero_registry_config(&config), -1);
	assert_null(config);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_credentials_found),
	        cmocka_unit_test(test_auths_not_an_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
