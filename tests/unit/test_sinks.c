/* Unit tests: the pieces the tracker sinks share (sinkutil.h, http.h) and the
 * tracker list check (courier.h). The sinks themselves are tested end to end
 * against the W&B and MLflow doubles (tests/e2e/test_trackers.py). */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "courier.h"
#include "http.h"
#include "sinkutil.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_specials_become_bare_tokens(void **state)
{
	(void)state;
	cJSON *row = cJSON_Parse("{\"a\":\"NaN\",\"b\":\"Infinity\",\"c\":\"-Infinity\","
	                         "\"d\":\"nan\",\"e\":0.09090909090909091,\"f\":[\"NaN\"],"
	                         "\"g\\\"h\":1}");
	assert_non_null(row);
	char *text = aero_sink_print_specials(row);
	assert_non_null(text);
	/* Only whole top-level values change; the key order stays; numbers keep
	 * every digit they need to read back exactly. */
	assert_string_equal(text, "{\"a\":NaN,\"b\":Infinity,\"c\":-Infinity,\"d\":\"nan\","
	                          "\"e\":0.09090909090909091,\"f\":[\"NaN\"],\"g\\\"h\":1}");
	free(text);
	cJSON_Delete(row);
}

static void test_escape(void **state)
{
	(void)state;
	char *s = aero_http_escape("a b+c=d%e/é~_.-");
	assert_non_null(s);
	assert_string_equal(s, "a%20b%2Bc%3Dd%25e%2F%C3%A9~_.-");
	free(s);
	s = aero_http_escape("");
	assert_string_equal(s, "");
	free(s);
}

static void test_retryable(void **state)
{
	(void)state;
	const long retry[] = {0, 408, 429, 500, 502, 503, 504, 599};
	const long final[] = {200, 400, 401, 403, 404, 409, 410, 413, 422, 501};
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		assert_true(aero_http_retryable(retry[i]));
	for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++)
		assert_false(aero_http_retryable(final[i]));
}

static void test_parse_utc(void **state)
{
	(void)state;
	assert_true(fabs(aero_sink_parse_utc("2026-11-26T13:01:36.448Z") - 1795698096.448) < 1e-6);
	assert_true(fabs(aero_sink_parse_utc("1970-01-01T00:00:01Z") - 1.0) < 1e-9);
	assert_true(aero_sink_parse_utc("yesterday") == 0);
}

static void test_tracker_lists(void **state)
{
	(void)state;
	assert_int_equal(aero_courier_check_trackers(NULL), 0);
	assert_int_equal(aero_courier_check_trackers("local"), 0);
	assert_int_equal(aero_courier_check_trackers("wandb,mlflow"), 0);
	assert_int_equal(aero_courier_check_trackers(" wandb , local "), 0);
	assert_int_equal(aero_courier_check_trackers("wandb,neptune"), -1);
	assert_int_equal(aero_courier_check_trackers("wand"), -1);
	assert_int_equal(aero_courier_check_trackers("localx"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_specials_become_bare_tokens), cmocka_unit_test(test_escape),
	        cmocka_unit_test(test_retryable), cmocka_unit_test(test_parse_utc),
	        cmocka_unit_test(test_tracker_lists)};
	return cmocka_run_group_tests_name("sinks", tests, NULL, NULL);
}
