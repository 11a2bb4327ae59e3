/* Unit tests: which configuration keys name secrets, and redaction at depth. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "redact.h"

#include <stdlib.h>
#include <string.h>

static void test_secret_keys(void **state)
{
	(void)state;
	const char *secret[] = {"password",    "db_password", "PASSWD",      "api_key",
	                        "wandbApiKey", "APIKey",      "hf_token",    "auth-token",
	                        "secret",      "aws.secret",  "private_key", "access-key",
	                        "credentials", "signingKey",  "x.apikey",    "Token"};
	const char *plain[] = {"max_tokens", "key_dim", "num_keys",  "tokenizer", "monkey", "lr",
	                       "keys",       "passes",  "secretary", "api_url",   "key",    ""};
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		assert_true(aero_key_is_secret(secret[i]));
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		assert_false(aero_key_is_secret(plain[i]));
}

static void test_redacts_at_depth(void **state)
{
	(void)state;
	cJSON *config = cJSON_Parse("{\"lr\":0.1,\"password\":\"hunter2\",\"db\":{\"host\":\"h\","
	                            "\"auth\":{\"api_key\":\"k\"}},\"list\":[{\"token\":[1,2]}],"
	                            "\"max_tokens\":5}");
	assert_non_null(config);
	assert_int_equal(aero_json_redact_secrets(config), 3);
	char *text = cJSON_PrintUnformatted(config);
	assert_non_null(text);
	assert_string_equal(text, "{\"lr\":0.1,\"password\":\"<redacted>\",\"db\":{\"host\":\"h\","
	                          "\"auth\":{\"api_key\":\"<redacted>\"}},\"list\":[{\"token\":"
	                          "\"<redacted>\"}],\"max_tokens\":5}");
	assert_null(strstr(text, "hunter2"));
	free(text);
	cJSON_Delete(config);
}

static void test_arg_shown(void **state)
{
	(void)state;
	assert_int_equal(aero_arg_shown("--api-key=s3cret"), 9);
	assert_int_equal(aero_arg_shown("--verbose"), 9);
	assert_int_equal(aero_arg_shown("-p=x"), 2);
	assert_int_equal(aero_arg_shown("--="), 2);
	assert_int_equal(aero_arg_shown("plain=value"), 11); /* not an option: whole */
	assert_int_equal(aero_arg_shown(""), 0);
}

static void expect_clean(const char *url, const char *want)
{
	char *got = aero_url_without_credentials(url);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_url_without_credentials(void **state)
{
	(void)state;
	expect_clean("https://oauth2:tok3n@gitlab.example/g/p.git",
	             "https://gitlab.example/g/p.git");
	expect_clean("https://ghp_tok3n@github.example/o/r", "https://github.example/o/r");
	expect_clean("http://u:p%40ss@host:8080/x?y=1", "http://host:8080/x?y=1");
	expect_clean("https://host/path@with/at", "https://host/path@with/at");
	expect_clean("ssh://git@host/o/r.git", "ssh://git@host/o/r.git");
	expect_clean("ssh://git:pw@host/o/r.git", "ssh://host/o/r.git");
	expect_clean("git@host:o/r.git", "git@host:o/r.git");
	expect_clean("/srv/git/r.git", "/srv/git/r.git");
	expect_clean("file:///srv/a@b/r.git", "file:///srv/a@b/r.git");
	expect_clean("://user:pw@host", "://user:pw@host");
	expect_clean("", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_secret_keys),
	        cmocka_unit_test(test_redacts_at_depth),
	        cmocka_unit_test(test_arg_shown),
	        cmocka_unit_test(test_url_without_credentials),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
