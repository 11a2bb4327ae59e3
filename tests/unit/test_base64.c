/* Unit tests: base64 in both alphabets (X-Registry-Auth and config.json's "auth"). */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base64.h"

#include <stdlib.h>
#include <string.h>

static void assert_encodes(const char *plain, const char *expected, bool url_safe)
{
	char *text = aero_base64_encode((const unsigned char *)plain, strlen(plain), url_safe);
	assert_non_null(text);
	assert_string_equal(text, expected);
	size_t count = 0;
	unsigned char *back = aero_base64_decode(text, &count);
	assert_non_null(back);
	assert_int_equal(count, strlen(plain));
	assert_memory_equal(back, plain, count);
	free(back);
	free(text);
}

static void test_rfc4648_vectors(void **state)
{
	(void)state;
	assert_encodes("", "", false);
	assert_encodes("f", "Zg==", false);
	assert_encodes("fo", "Zm8=", false);
	assert_encodes("foo", "Zm9v", false);
	assert_encodes("foob", "Zm9vYg==", false);
	assert_encodes("fooba", "Zm9vYmE=", false);
	assert_encodes("foobar", "Zm9vYmFy", false);
}

static void test_url_alphabet(void **state)
{
	(void)state;
	assert_encodes("\xfb\xff\xbf", "-_-_", true);
	assert_encodes("\xfb\xff\xbf", "+/+/", false);
	assert_encodes("{}", "e30=", true);
}

static void test_decode_without_padding_and_rejects(void **state)
{
	(void)state;
	size_t count = 0;
	unsigned char *out = aero_base64_decode("dXNlcjpwYXNz", &count);
	assert_non_null(out);
	assert_string_equal((char *)out, "user:pass");
	free(out);
	out = aero_base64_decode("Zm8", &count);
	assert_non_null(out);
	assert_int_equal(count, 2);
	free(out);
	assert_null(aero_base64_decode("Zm9v!", &count));
	assert_null(aero_base64_decode("Z", &count));
	assert_null(aero_base64_decode("Zg===", &count));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_rfc4648_vectors),
	        cmocka_unit_test(test_url_alphabet),
	        cmocka_unit_test(test_decode_without_padding_and_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
