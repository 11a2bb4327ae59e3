/* Unit tests: the validating JSON scanner of the metric channel (lib/jsonscan).
 * Every text is copied into a buffer of exactly its length, so that a read
 * past the end shows under AddressSanitizer (make sanitize). */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "error.h"
#include "jsonscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TYPE, DATA, STEP, MEMBERS };

struct result {
	int rc;
	struct aero_json_member m[MEMBERS];
	char *copy; /* the scanned text: spans point into it */
};

/* Scans len bytes of text from a copy of exactly that size. */
static struct result scan_n(const char *text, size_t len)
{
	struct result r = {.m = {[TYPE] = {.name = "type"},
	                         [DATA] = {.name = "data"},
	                         [STEP] = {.name = "step"}}};
	r.copy = malloc(len > 0 ? len : 1);
	assert_non_null(r.copy);
	memcpy(r.copy, text, len);
	r.rc = aero_json_scan_object(r.copy, len, r.m, MEMBERS);
	return r;
}

static struct result scan(const char *text)
{
	return scan_n(text, strlen(text));
}

static void assert_valid(const char *text)
{
	struct result r = scan(text);
	if (r.rc != 0)
		fail_msg("refused %s: %s", text, aero_error_last());
	free(r.copy);
}

/* Refused with exactly this reason. */
static void assert_refused_n(const char *text, size_t len, const char *why)
{
	struct result r = scan_n(text, len);
	if (r.rc == 0)
		fail_msg("accepted %s", text);
	assert_string_equal(aero_error_last(), why);
	free(r.copy);
}

static void assert_refused(const char *text, const char *why)
{
	assert_refused_n(text, strlen(text), why);
}

/* Refused as invalid JSON, whatever the detail. */
static void assert_invalid(const char *text)
{
	struct result r = scan(text);
	if (r.rc == 0)
		fail_msg("accepted %s", text);
	if (strncmp(aero_error_last(), "not a JSON object: ", 19) != 0)
		fail_msg("%s: unexpected reason %s", text, aero_error_last());
	free(r.copy);
}

/* A value in place of V in {"v":V}. */
static void assert_value(const char *value, int valid)
{
	char text[256];
	(void)snprintf(text, sizeof(text), "{\"v\":%s}", value);
	if (valid)
		assert_valid(text);
	else
		assert_invalid(text);
}

static void test_numbers(void **state)
{
	(void)state;
	const char *good[] = {"0",
	                      "-0",
	                      "7",
	                      "-7",
	                      "10",
	                      "1.5",
	                      "-1.5",
	                      "0.0",
	                      "1e5",
	                      "1E5",
	                      "1e+5",
	                      "1e-5",
	                      "-0.5E-07",
	                      "1.0e0",
	                      "0e0",
	                      "123456789012345678901234567890",
	                      "1.7976931348623157e309"};
	const char *bad[] = {"1e",  "1e+", "-",     "01",    "-01",  "1.",  ".5",       "+1",
	                     "--1", "0x1", "1.2.3", "1e5e5", "1.e5", "00",  "Infinity", "-Infinity",
	                     "NaN", "1 2", "1-",    "0-1",   "1e-",  "-.5", "1E",       "\xd9\xa1"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_value(good[i], 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_value(bad[i], 0);
	/* A number as the last byte of the text, and each grammar error's place. */
	assert_valid("{\"v\":[1]}");
	assert_refused("{\"v\":01}", "not a JSON object: an invalid number at byte 6");
	assert_refused("{\"v\":1.}", "not a JSON object: an invalid number at byte 6");
	assert_refused("{\"v\":-}", "not a JSON object: an invalid number at byte 6");
	assert_refused("{\"v\":1e", "not a JSON object: an invalid number at byte 6");
}

static void test_literals_and_structure(void **state)
{
	(void)state;
	assert_value("true", 1);
	assert_value("false", 1);
	assert_value("null", 1);
	assert_value("[]", 1);
	assert_value("{}", 1);
	assert_value("[1,\"a\",[],{},null]", 1);
	assert_value("{\"a\":{\"b\":[{\"c\":[]}]}}", 1);
	const char *bad[] = {"tru",
	                     "True",
	                     "nul",
	                     "falsey",
	                     "[1,]",
	                     "[,1]",
	                     "[1 2]",
	                     "{\"a\"}",
	                     "{\"a\":}",
	                     "{,}",
	                     "{\"a\":1,}",
	                     "{'a':1}",
	                     "{a:1}",
	                     "[",
	                     "]",
	                     "{\"a\":1 \"b\":2}",
	                     "'x'",
	                     "undefined",
	                     ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_value(bad[i], 0);
	assert_refused("", "not a JSON object: an unexpected end at byte 1");
	assert_refused("   ", "not a JSON object: an unexpected end at byte 4");
	assert_refused("{", "not a JSON object: a key not in quotes at byte 2");
	assert_refused("{\"a\":1", "not a JSON object: an unexpected end at byte 7");
	assert_refused("{\"a\" 1}", "not a JSON object: a key without ':' at byte 6");
	assert_refused("{\"a\":1]", "not a JSON object: a missing ',' or '}' at byte 7");
	assert_refused("{\"a\":[1}", "not a JSON object: a missing ',' or ']' at byte 8");
	assert_refused("{\"a\":x}", "not a JSON object: an unexpected character at byte 6");
	/* Valid JSON that is not an object. */
	const char *others[] = {"[1]", "1", "\"x\"", "null", " true ", "[]"};
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_refused(others[i], "not a JSON object");
}

static void test_whitespace_and_trailing_text(void **state)
{
	(void)state;
	assert_valid("{}");
	assert_valid(" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ 1 , 2 ] \t\r\n, \"b\":{ } } \t\r\n");
	assert_refused("{} x", "not a JSON object: text after the end of the value at byte 4");
	assert_refused("{}}", "not a JSON object: text after the end of the value at byte 3");
	assert_invalid("{},");
	assert_invalid("{}{}");
	assert_invalid("\xef\xbb\xbf{}"); /* a byte order mark is no blank */
	assert_invalid("{\f\"a\":1}");    /* neither is a form feed */
	assert_invalid("{\"a\":1}\v");    /* nor a vertical tab */
	assert_invalid("{\"a\":\xc2\xa0"
	               "1}"); /* nor a no-break space */
	assert_refused_n("{}\0", 3, "not a JSON object: text after the end of the value at byte 3");
	assert_refused_n(
	        "{\"a\0\":1}", 8,
	        "not a JSON object: a control character in a string (escape it) at byte 4");
}

static void test_strings_and_escapes(void **state)
{
	(void)state;
	const char *good[] = {"\"\"",
	                      "\"plain text, longer than eight bytes\"",
	                      "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"",
	                      "\"\\u0041\\u00e9\\u20AC\\uFFFF\\u0000\"",
	                      "\"\\ud83d\\ude00 and \\uDBFF\\uDFFF\"",
	                      "\"\x7f is DEL, allowed\"",
	                      "\"quote at the end of 8: 1234567\\\"\""};
	const char *bad[] = {"\"\\x\"",
	                     "\"\\'\"",
	                     "\"\\u12\"",
	                     "\"\\u12G4\"",
	                     "\"\\U0041\"",
	                     "\"\\ud800\"",
	                     "\"\\udc00\"",
	                     "\"\\ud800\\u0041\"",
	                     "\"\\ud800x\"",
	                     "\"\\ud800\\ud800\"",
	                     "\"\\udfff\\ud800\"",
	                     "\"\\\"",
	                     "\"abc",
	                     "\"\\",
	                     "\"\\u"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_value(good[i], 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_value(bad[i], 0);
	assert_refused("{\"v\":\"a\\ud800\"}",
	               "not a JSON object: an invalid escape or an unpaired surrogate at byte 8");
	assert_refused("{\"v\":\"abc",
	               "not a JSON object: a string without its closing quote at byte 10");
	/* Every control character but in an escape. */
	for (int c = 1; c < 0x20; c++) {
		char text[32];
		(void)snprintf(text, sizeof(text), "{\"v\":\"long string %c here\"}", c);
		assert_refused(text, "not a JSON object: a control character in a string (escape "
		                     "it) at byte 19");
	}
}

static void test_utf8(void **state)
{
	(void)state;
	/* The edges of each length, and of the surrogates' gap. */
	const char *good[] = {"\xc2\x80",         "\xdf\xbf",         "\xe0\xa0\x80",
	                      "\xed\x9f\xbf",     "\xee\x80\x80",     "\xef\xbf\xbf",
	                      "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "caf\xc3\xa9 \xe2\x82\xac"};
	const char *bad[] = {"\x80",
	                     "\xbf",
	                     "\xc0\x80",
	                     "\xc1\xbf", /* overlong */
	                     "\xe0\x80\x80",
	                     "\xe0\x9f\xbf",
	                     "\xf0\x8f\xbf\xbf",
	                     "\xf0\x80\x80\x80",
	                     "\xed\xa0\x80",
	                     "\xed\xbf\xbf", /* surrogates */
	                     "\xf4\x90\x80\x80",
	                     "\xf5\x80\x80\x80",
	                     "\xf8\x88\x80\x80\x80",
	                     "\xff", /* too big */
	                     "\xc3",
	                     "\xe2\x82",
	                     "\xf0\x9f\x98",
	                     "\xc3\x28", /* cut short */
	                     "\xe2\x28\xa1",
	                     "\xf0\x28\x8c\xbc"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char text[64];
		(void)snprintf(text, sizeof(text), "{\"%s\":\"%s\"}", good[i], good[i]);
		assert_valid(text);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[64];
		(void)snprintf(text, sizeof(text), "{\"v\":\"%s\"}", bad[i]);
		assert_refused(text, "not a JSON object: invalid UTF-8 at byte 7");
		(void)snprintf(text, sizeof(text), "{\"v\":\"a long ASCII run then %s\"}", bad[i]);
		assert_refused(text, "not a JSON object: invalid UTF-8 at byte 29");
	}
	/* Outside a string, any byte beyond ASCII is out of place. */
	assert_refused("{\"v\":1\xc3\xa9}", "not a JSON object: a missing ',' or '}' at byte 7");
}

static void test_nesting_limit(void **state)
{
	(void)state;
	/* {"v": then arrays: the object counts as one level. */
	const size_t deepest = AERO_JSON_MAX_DEPTH - 1;
	char *text = malloc(2 * deepest + 16);
	assert_non_null(text);
	for (size_t arrays = deepest; arrays <= deepest + 1; arrays++) {
		size_t len = 0;
		memcpy(text, "{\"v\":", 5);
		len = 5;
		memset(text + len, '[', arrays);
		len += arrays;
		memset(text + len, ']', arrays);
		len += arrays;
		text[len++] = '}';
		struct result r = scan_n(text, len);
		if (arrays == deepest) {
			assert_int_equal(r.rc, 0);
		} else {
			assert_int_equal(r.rc, -1);
			assert_string_equal(
			        aero_error_last(),
			        "not a JSON object: objects and arrays nested more than "
			        "1000 deep at byte 1005");
		}
		free(r.copy);
	}
	free(text);
}

static void test_members(void **state)
{
	(void)state;
	struct result r =
	        scan(" { \"step\" : 12 , \"other\":{\"type\":1}, \"data\" : {\"a\" : [1,{}]} , "
	             "\"type\":\"log\" } ");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.m[TYPE].kind, AERO_JSON_STRING);
	assert_int_equal(r.m[TYPE].len, 5);
	assert_memory_equal(r.m[TYPE].value, "\"log\"", 5);
	assert_int_equal(r.m[DATA].kind, AERO_JSON_OBJECT);
	assert_int_equal(r.m[DATA].len, strlen("{\"a\" : [1,{}]}"));
	assert_memory_equal(r.m[DATA].value, "{\"a\" : [1,{}]}", r.m[DATA].len);
	assert_false(r.m[DATA].underscore_key);
	assert_int_equal(r.m[STEP].kind, AERO_JSON_NUMBER);
	assert_memory_equal(r.m[STEP].value, "12", r.m[STEP].len);
	free(r.copy);

	/* Absent members, and each kind. */
	r = scan("{\"data\":[],\"type\":null}");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.m[STEP].kind, AERO_JSON_ABSENT);
	assert_null(r.m[STEP].value);
	assert_int_equal(r.m[DATA].kind, AERO_JSON_ARRAY);
	assert_int_equal(r.m[TYPE].kind, AERO_JSON_NULL);
	free(r.copy);
	r = scan("{\"data\":true,\"type\":false,\"step\":\"1\"}");
	assert_int_equal(r.m[DATA].kind, AERO_JSON_TRUE);
	assert_int_equal(r.m[TYPE].kind, AERO_JSON_FALSE);
	assert_int_equal(r.m[STEP].kind, AERO_JSON_STRING);
	free(r.copy);

	/* Names are compared unescaped; near misses are other members. */
	r = scan("{\"d\\u0061ta\":{},\"t\\/ype\":1,\"Data\":1,\"dat\":1,\"datas\":1,"
	         "\"d\\u0061t\\u00e1\":1}");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.m[DATA].kind, AERO_JSON_OBJECT);
	assert_int_equal(r.m[TYPE].kind, AERO_JSON_ABSENT);
	free(r.copy);
}

static void test_duplicates_and_reserved_keys(void **state)
{
	(void)state;
	assert_refused("{\"data\":{},\"data\":{}}", "duplicate key \"data\"");
	assert_refused("{\"type\":\"log\",\"t\\u0079pe\":\"log\"}", "duplicate key \"type\"");
	/* Members nobody asks for may repeat, as may keys further down. */
	assert_valid("{\"x\":1,\"x\":2,\"data\":{\"a\":1,\"a\":2}}");
	/* The first problem found is the one told, here before the missing '}'. */
	assert_refused("{\"data\":{},\"data\":{}", "duplicate key \"data\"");

	const char *reserved[] = {"{\"data\":{\"_step\":1}}", "{\"data\":{\"a\":1,\"_\":2}}",
	                          "{\"data\":{\"\\u005fx\":1}}", "{\"data\":{\"\\u005Fx\":1}}"};
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		struct result r = scan(reserved[i]);
		assert_int_equal(r.rc, 0);
		assert_true(r.m[DATA].underscore_key);
		free(r.copy);
	}
	const char *fine[] = {"{\"data\":{\"a_\":1}}",   "{\"data\":{\"a\":{\"_b\":1}}}",
	                      "{\"data\":[{\"_b\":1}]}", "{\"_data\":{\"a\":1},\"data\":{}}",
	                      "{\"data\":{\"\":1}}",     "{\"x\":{\"_y\":1},\"data\":{}}"};
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		struct result r = scan(fine[i]);
		assert_int_equal(r.rc, 0);
		assert_false(r.m[DATA].underscore_key);
		free(r.copy);
	}
}

static void test_string_is(void **state)
{
	(void)state;
	assert_true(aero_json_string_is("\"log\"", 5, "log"));
	assert_true(aero_json_string_is("\"l\\u006fg\"", 10, "log"));
	assert_true(aero_json_string_is("\"\\/\"", 4, "/"));
	assert_false(aero_json_string_is("\"logs\"", 6, "log"));
	assert_false(aero_json_string_is("\"lo\"", 4, "log"));
	assert_false(aero_json_string_is("\"\"", 2, "log"));
	assert_true(aero_json_string_is("\"\"", 2, ""));
	assert_false(aero_json_string_is("null", 4, "null"));
	assert_false(aero_json_string_is("\"l\\u00f6g\"", 10, "log"));
}

static void test_whole_number(void **state)
{
	(void)state;
	const long long max = 9000000000000000LL;
	const struct {
		const char *text;
		long long value;
	} good[] = {{"0", 0},
	            {"7", 7},
	            {"123456789012345", 123456789012345LL},
	            {"1.0", 1},
	            {"1e2", 100},
	            {"-0", 0},
	            {"2.50e1", 25},
	            {"9000000000000000", max},
	            {"9e15", max}};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		long long v = -1;
		assert_int_equal(
		        aero_json_whole_number(good[i].text, strlen(good[i].text), max, &v), 0);
		assert_int_equal(v, good[i].value);
	}
	const char *bad[] = {"1.5",
	                     "-1",
	                     "9000000000000001",
	                     "1e400",
	                     "-1e-400x",
	                     "0.1e1x",
	                     "1234567890123456789012345678901234567890123456789012345678901234"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long long v = -1;
		assert_int_equal(aero_json_whole_number(bad[i], strlen(bad[i]), max, &v), -1);
	}
	long long v = -1;
	assert_int_equal(aero_json_whole_number("10", 2, 9, &v), -1);
}

/* Random damage to valid texts: no crash, no read past the end (under
 * ASan), and a refusal always says why. A poor man's fuzzer, repeatable. */
static void test_mutations(void **state)
{
	(void)state;
	const char *seeds[] = {
	        ("{\"type\":\"log\",\"data\":{\"loss\":0.123456789,\"lr\":3e-4,\"epoch\":7},"
	         "\"step\":1}"),
	        "{\"type\":\"tags\",\"tags\":[\"a\",\"caf\xc3\xa9\",\"\\ud83d\\ude00\",\"\\n\"]}",
	        "{ \"data\" : { \"a\" : [ true , false , null , { } , [ ] ] } , \"type\" : \"x\" }",
	};
	const char alphabet[] =
	        "{}[]:,\"\\-+.eE0123456789 \t\r\nuabtfnrl_\x80\xbf\xc3\xe2\xed\xf0\xf4\xff";
	uint32_t seed = 12345;
	char buf[160];
	for (int round = 0; round < 200000; round++) {
		const char *base = seeds[round % 3];
		size_t len = strlen(base);
		memcpy(buf, base, len);
		for (int edits = 1 + (int)(seed % 3); edits > 0; edits--) {
			seed = seed * 1103515245u + 12345u;
			const size_t at = (seed >> 8) % len;
			const char c = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
			switch ((seed >> 4) % 3) {
			case 0: /* replace */
				buf[at] = c;
				break;
			case 1: /* delete */
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			default: /* insert */
				if (len < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = c;
					len++;
				}
			}
		}
		struct result r = scan_n(buf, len);
		if (r.rc == 0) {
			for (int i = 0; i < MEMBERS; i++)
				if (r.m[i].kind != AERO_JSON_ABSENT)
					assert_true(r.m[i].value >= r.copy &&
					            r.m[i].value + r.m[i].len <= r.copy + len);
		} else {
			assert_true(strncmp(aero_error_last(), "not a JSON object", 17) == 0 ||
			            strncmp(aero_error_last(), "duplicate key", 13) == 0);
		}
		free(r.copy);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_numbers),
	        cmocka_unit_test(test_literals_and_structure),
	        cmocka_unit_test(test_whitespace_and_trailing_text),
	        cmocka_unit_test(test_strings_and_escapes),
	        cmocka_unit_test(test_utf8),
	        cmocka_unit_test(test_nesting_limit),
	        cmocka_unit_test(test_members),
	        cmocka_unit_test(test_duplicates_and_reserved_keys),
	        cmocka_unit_test(test_string_is),
	        cmocka_unit_test(test_whole_number),
	        cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests_name("jsonscan", tests, NULL, NULL);
}
