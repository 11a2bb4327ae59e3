/* Unit tests: JSON equality (lib/jsonequal.c), as the manifest differ and the
 * pipeline's "what changed" use it. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "jsonequal.h"

#include <stdbool.h>

/* Whether the texts a and b parse to equal values, checked both ways. */
static bool equal_texts(const char *a, const char *b)
{
	cJSON *x = cJSON_Parse(a);
	cJSON *y = cJSON_Parse(b);
	assert_non_null(x);
	assert_non_null(y);
	const bool there = aero_json_equal(x, y);
	assert_int_equal(there, aero_json_equal(y, x));
	cJSON_Delete(x);
	cJSON_Delete(y);
	return there;
}

static void test_infinities_equal_themselves(void **state)
{
	(void)state;
	/* cJSON reads these as infinities; cJSON_Compare takes each to differ
	 * from itself, which made the differ report a manifest changed against
	 * itself (found by fuzz_diff). */
	assert_true(equal_texts("1e309", "1e309"));
	assert_true(equal_texts("-1e309", "-1e400"));
	assert_true(equal_texts("{\"cpu\":[1e309]}", "{\"cpu\":[1e309]}"));
	assert_false(equal_texts("1e309", "-1e309"));
	assert_false(equal_texts("1e309", "1e308"));
	cJSON *inf = cJSON_Parse("[1e309]");
	assert_non_null(inf);
	assert_true(aero_json_equal(inf, inf));
	cJSON_Delete(inf);
}

static void test_numbers_by_value(void **state)
{
	(void)state;
	assert_true(equal_texts("1", "1.0"));
	assert_true(equal_texts("100", "1e2"));
	assert_true(equal_texts("0", "-0"));
	assert_false(equal_texts("0.1", "0.10000000000000002"));
	assert_false(equal_texts("1", "\"1\""));
}

static void test_scalars(void **state)
{
	(void)state;
	assert_true(equal_texts("true", "true"));
	assert_true(equal_texts("null", "null"));
	assert_false(equal_texts("true", "false"));
	assert_false(equal_texts("null", "false"));
	assert_false(equal_texts("null", "0"));
	assert_true(equal_texts("\"a\\u00e9\"", "\"a\xc3\xa9\""));
	assert_false(equal_texts("\"a\"", "\"A\""));
	assert_false(equal_texts("\"a\"", "\"a \""));
}

static void test_containers(void **state)
{
	(void)state;
	assert_true(equal_texts("{\"a\":1,\"b\":[1,2]}", "{\"b\":[1,2],\"a\":1}"));
	assert_true(equal_texts("{}", "{}"));
	assert_true(equal_texts("[]", "[]"));
	assert_false(equal_texts("[1,2]", "[2,1]"));
	assert_false(equal_texts("[1,2]", "[1,2,3]"));
	assert_false(equal_texts("[]", "{}"));
	assert_false(equal_texts("{\"a\":1}", "{\"A\":1}"));
	assert_false(equal_texts("{\"a\":1}", "{\"a\":1,\"b\":2}"));
	assert_false(equal_texts("{\"a\":{\"b\":1}}", "{\"a\":{\"b\":2}}"));
	assert_false(equal_texts("{\"a\":1,\"b\":2}", "{\"b\":2,\"c\":1}"));
}

static void test_absent_values(void **state)
{
	(void)state;
	cJSON *one = cJSON_CreateNumber(1);
	assert_non_null(one);
	assert_true(aero_json_equal(NULL, NULL));
	assert_false(aero_json_equal(one, NULL));
	assert_false(aero_json_equal(NULL, one));
	cJSON_Delete(one);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_infinities_equal_themselves),
	        cmocka_unit_test(test_numbers_by_value),
	        cmocka_unit_test(test_scalars),
	        cmocka_unit_test(test_containers),
	        cmocka_unit_test(test_absent_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
