/* Unit tests: a log record's shape (lib/jsonshape), the metric channel's
 * fast path. What it accepts must be exactly what the full scan
 * (lib/jsonscan) accepts, with the same members: every match here is checked
 * against a full scan of the same bytes, and texts are copied into buffers of
 * exactly their length, so that a read past the end shows under
 * AddressSanitizer (make sanitize). */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "jsonscan.h"
#include "jsonshape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TYPE, DATA, STEP, MEMBERS };

static void name(struct aero_json_member *m)
{
	m[TYPE].name = "type";
	m[DATA].name = "data";
	m[STEP].name = "step";
}

static char *copy_of(const char *text, size_t len)
{
	char *copy = malloc(len > 0 ? len : 1);
	assert_non_null(copy);
	memcpy(copy, text, len);
	return copy;
}

static struct aero_json_shape *new_shape(size_t len)
{
	struct aero_json_shape *shape = aero_json_shape_new(len);
	assert_non_null(shape);
	return shape;
}

static void learn(struct aero_json_shape *shape, const char *text)
{
	struct aero_json_member m[MEMBERS];
	name(m);
	char *copy = copy_of(text, strlen(text));
	assert_int_equal(aero_json_scan_object(copy, strlen(text), m, MEMBERS), 0);
	assert_int_equal(aero_json_shape_learn(shape, copy, strlen(text), m, MEMBERS), 0);
	free(copy);
}

/* Matches len bytes of text; when it matches, the full scan of what matched
 * must accept it and find the same members. Returns the length matched. */
static size_t match_n(struct aero_json_shape *shape, const char *text, size_t len)
{
	char *copy = copy_of(text, len);
	struct aero_json_member m[MEMBERS], full[MEMBERS];
	name(m);
	name(full);
	const size_t n = aero_json_shape_match(shape, copy, len, m);
	if (n > 0) {
		if (aero_json_scan_object(copy, n, full, MEMBERS) != 0)
			fail_msg("matched what the full scan refuses: %.*s", (int)n, copy);
		for (int i = 0; i < MEMBERS; i++) {
			assert_int_equal(m[i].kind, full[i].kind);
			assert_int_equal(m[i].underscore_key, full[i].underscore_key);
			if (full[i].kind != AERO_JSON_ABSENT) {
				assert_ptr_equal(m[i].value, full[i].value);
				assert_int_equal(m[i].len, full[i].len);
			}
		}
	}
	free(copy);
	return n;
}

static size_t match(struct aero_json_shape *shape, const char *text)
{
	return match_n(shape, text, strlen(text));
}

static const char record[] =
        "{\"type\":\"log\",\"data\":{\"loss\":0.123456789,\"acc\":0.9,\"lr\":3e-4,\"epoch\":7},"
        "\"step\":12}";

static void test_the_same_text_and_other_numbers(void **state)
{
	(void)state;
	struct aero_json_shape *shape = new_shape(AERO_JSON_SHAPE_TEXT_MAX);
	learn(shape, record);
	assert_int_equal(match(shape, record), strlen(record));
	/* The same lengths (the layout), then others (the runs). */
	const char *alike[] = {
	        "{\"type\":\"log\",\"data\":{\"loss\":0.987654321,\"acc\":0.1,\"lr\":5e-4,"
	        "\"epoch\":8},"
	        "\"step\":13}",
	        "{\"type\":\"log\",\"data\":{\"loss\":12.5,\"acc\":1,\"lr\":0.0003,\"epoch\":"
	        "1234567},"
	        "\"step\":9000000000000000}",
	        "{\"type\":\"log\",\"data\":{\"loss\":-0,\"acc\":-0.5e+10,\"lr\":3E-4,\"epoch\":0},"
	        "\"step\":0}",
	        "{\"type\":\"log\",\"data\":{\"loss\":1.7976931348623157e308,\"acc\":5e-324,\"lr\":"
	        "0,"
	        "\"epoch\":10},\"step\":1.0}",
	};
	for (size_t i = 0; i < sizeof(alike) / sizeof(alike[0]); i++) {
		assert_int_equal(match(shape, alike[i]), strlen(alike[i]));
		assert_int_equal(match(shape, alike[i]), strlen(alike[i])); /* its layout now */
	}
	aero_json_shape_free(shape);
}

static void test_what_does_not_match(void **state)
{
	(void)state;
	struct aero_json_shape *shape = new_shape(AERO_JSON_SHAPE_TEXT_MAX);
	const char *other[] = {
	        /* Numbers that are not JSON's, of the same length and of others. */
	        "{\"type\":\"log\",\"data\":{\"loss\":0.12345678.,\"acc\":0.9,\"lr\":3e-4,"
	        "\"epoch\":7},"
	        "\"step\":12}",
	        "{\"type\":\"log\",\"data\":{\"loss\":0.123456789,\"acc\":0.9,\"lr\":3e-4,"
	        "\"epoch\":7},"
	        "\"step\":02}",
	        "{\"type\":\"log\",\"data\":{\"loss\":00.12345678,\"acc\":0.9,\"lr\":3e-4,"
	        "\"epoch\":7},"
	        "\"step\":12}",
	        "{\"type\":\"log\",\"data\":{\"loss\":1.,\"acc\":0.9,\"lr\":3e-4,\"epoch\":7},"
	        "\"step\":12}",
	        "{\"type\":\"log\",\"data\":{\"loss\":.5,\"acc\":0.9,\"lr\":3e-4,\"epoch\":7},"
	        "\"step\":12}",
	        "{\"type\":\"log\",\"data\":{\"loss\":+1,\"acc\":0.9,\"lr\":3e-4,\"epoch\":7},"
	        "\"step\":12}",
	        "{\"type\":\"log\",\"data\":{\"loss\":1e,\"acc\":0.9,\"lr\":3e-4,\"epoch\":7},"
	        "\"step\":12}",
	        "{\"type\":\"log\",\"data\":{\"loss\":-,\"acc\":0.9,\"lr\":3e-4,\"epoch\":7},"
	        "\"step\":12}",
	        "{\"type\":\"log\",\"data\":{\"loss\":0x1,\"acc\":0.9,\"lr\":3e-4,\"epoch\":7},"
	        "\"step\":12}",
	        "{\"type\":\"log\",\"data\":{\"loss\":NaN,\"acc\":0.9,\"lr\":3e-4,\"epoch\":7},"
	        "\"step\":12}",
	        "{\"type\":\"log\",\"data\":{\"loss\":\"0.5\",\"acc\":0.9,\"lr\":3e-4,\"epoch\":7},"
	        "\"step\":12}",
	        /* Another key, string, blank or order. */
	        "{\"type\":\"log\",\"data\":{\"lass\":0.123456789,\"acc\":0.9,\"lr\":3e-4,"
	        "\"epoch\":7},"
	        "\"step\":12}",
	        "{\"type\":\"sum\",\"data\":{\"loss\":0.123456789,\"acc\":0.9,\"lr\":3e-4,"
	        "\"epoch\":7},"
	        "\"step\":12}",
	        "{\"type\":\"log\", "
	        "\"data\":{\"loss\":0.123456789,\"acc\":0.9,\"lr\":3e-4,\"epoch\":7},"
	        "\"step\":12}",
	        "{\"data\":{\"loss\":0.123456789,\"acc\":0.9,\"lr\":3e-4,\"epoch\":7},\"type\":"
	        "\"log\","
	        "\"step\":12}",
	        /* Cut short, or empty. */
	        "{\"type\":\"log\",\"data\":{\"loss\":0.123456789,\"acc\":0.9,\"lr\":3e-4,"
	        "\"epoch\":7},"
	        "\"step\":12",
	        "{\"type\":\"log\",\"data\":{\"loss\":0.123456789,\"acc\":0.9,\"lr\":3e-4,"
	        "\"epoch\":7},"
	        "\"step\":",
	        "",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		learn(shape, record);
		if (match(shape, other[i]) != 0)
			fail_msg("matched %s", other[i]);
		/* And once the layout has moved on to other lengths. */
		learn(shape, record);
		assert_true(match(shape,
		                  "{\"type\":\"log\",\"data\":{\"loss\":1,\"acc\":2,\"lr\":3,"
		                  "\"epoch\":4},\"step\":5}") > 0);
		if (match(shape, other[i]) != 0)
			fail_msg("matched %s", other[i]);
	}
	aero_json_shape_free(shape);
}

static void test_what_follows_is_left(void **state)
{
	(void)state;
	struct aero_json_shape *shape = new_shape(AERO_JSON_SHAPE_TEXT_MAX);
	learn(shape, record);
	char two[512];
	(void)snprintf(two, sizeof(two), "%s\n%s\n", record, record);
	assert_int_equal(match(shape, two), strlen(record));
	/* A number that would go on past the end of the text is not cut. */
	const char digits[] = "{\"type\":\"log\",\"data\":{\"loss\":0.123456789,\"acc\":0.9,\"lr\":"
	                      "3e-4,\"epoch\":7},\"step\":123";
	assert_int_equal(match(shape, digits), 0);
	aero_json_shape_free(shape);
}

static void test_too_long_or_too_many_numbers(void **state)
{
	(void)state;
	struct aero_json_shape *shape = new_shape(AERO_JSON_SHAPE_TEXT_MAX);
	char text[4 * AERO_JSON_SHAPE_TEXT_MAX];
	size_t len = (size_t)snprintf(text, sizeof(text), "{\"type\":\"log\",\"data\":{\"a\":[");
	for (int i = 0; i <= AERO_JSON_SHAPE_NUMBERS_MAX; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%d", i > 0 ? "," : "",
		                        i);
	len += (size_t)snprintf(text + len, sizeof(text) - len, "]}}");
	struct aero_json_member m[MEMBERS];
	name(m);
	assert_int_equal(aero_json_scan_object(text, len, m, MEMBERS), 0);
	assert_int_equal(aero_json_shape_learn(shape, text, len, m, MEMBERS), -1);
	assert_int_equal(match(shape, text), 0);

	len = (size_t)snprintf(text, sizeof(text), "{\"type\":\"log\",\"data\":{\"a\":\"%*s\"}}",
	                       AERO_JSON_SHAPE_TEXT_MAX, "x");
	assert_int_equal(aero_json_scan_object(text, len, m, MEMBERS), 0);
	assert_int_equal(aero_json_shape_learn(shape, text, len, m, MEMBERS), -1);
	assert_int_equal(match(shape, text), 0);
	aero_json_shape_free(shape);
}

/* Numbers whose lengths keep changing: each still matches, the long way. */
static void test_numbers_of_changing_lengths(void **state)
{
	(void)state;
	struct aero_json_shape *shape = new_shape(AERO_JSON_SHAPE_TEXT_MAX);
	learn(shape, record);
	srand(7);
	for (int i = 0; i < 2000; i++) {
		char text[256];
		const int len = snprintf(text, sizeof(text),
		                         "{\"type\":\"log\",\"data\":{\"loss\":%.17g,\"acc\":%d,"
		                         "\"lr\":%g,\"epoch\":%d},"
		                         "\"step\":%d}",
		                         rand() / (double)RAND_MAX, rand() % 1000,
		                         1.0 / (1 + rand() % 100), i, i);
		assert_int_equal(match(shape, text), (size_t)len);
	}
	aero_json_shape_free(shape);
}

/* Random changes to texts the shape has: whatever still matches, the full
 * scan accepts, with the same members (match_n checks). */
static void test_mutations(void **state)
{
	(void)state;
	struct aero_json_shape *shape = new_shape(AERO_JSON_SHAPE_TEXT_MAX);
	static const char alphabet[] = "0123456789-+.eE\"{}[],: \\x_";
	srand(11);
	for (int round = 0; round < 20000; round++) {
		char text[sizeof(record)];
		memcpy(text, record, sizeof(record));
		const int changes = 1 + rand() % 3;
		for (int i = 0; i < changes; i++)
			text[rand() % (int)(sizeof(record) - 1)] =
			        alphabet[rand() % (int)(sizeof(alphabet) - 1)];
		if (round % 2 == 0)
			learn(shape, record); /* the learned layout; else the last matched */
		(void)match_n(shape, text, sizeof(record) - 1);
	}
	aero_json_shape_free(shape);
}

/* A shape made for a text has room for it and for its numbers grown a few
 * digits; a text past its room is still matched (by its runs), and one
 * learned past it is refused, as the channel then makes a bigger shape. */
static void test_room(void **state)
{
	(void)state;
	struct aero_json_shape *shape = new_shape(strlen(record));
	const size_t room = aero_json_shape_room(shape);
	assert_true(room >= strlen(record) + 16 && room <= AERO_JSON_SHAPE_TEXT_MAX);
	learn(shape, record);
	char longer[1024];
	const int len = snprintf(longer, sizeof(longer),
	                         "{\"type\":\"log\",\"data\":{\"loss\":0.%0*d,\"acc\":0.9,"
	                         "\"lr\":3e-4,\"epoch\":7},\"step\":12}",
	                         (int)room, 1);
	assert_true((size_t)len > room);
	assert_int_equal(match(shape, longer), (size_t)len);
	assert_int_equal(match(shape, longer), (size_t)len);
	assert_int_equal(match(shape, record), strlen(record));
	struct aero_json_member m[MEMBERS];
	name(m);
	assert_int_equal(aero_json_scan_object(longer, (size_t)len, m, MEMBERS), 0);
	assert_int_equal(aero_json_shape_learn(shape, longer, (size_t)len, m, MEMBERS), -1);
	assert_int_equal(match(shape, record), 0);
	aero_json_shape_free(shape);
	assert_int_equal(aero_json_shape_room(shape = new_shape(100000)), AERO_JSON_SHAPE_TEXT_MAX);
	aero_json_shape_free(shape);
	aero_json_shape_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_the_same_text_and_other_numbers),
	        cmocka_unit_test(test_what_does_not_match),
	        cmocka_unit_test(test_what_follows_is_left),
	        cmocka_unit_test(test_too_long_or_too_many_numbers),
	        cmocka_unit_test(test_numbers_of_changing_lengths),
	        cmocka_unit_test(test_room),
	        cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests_name("jsonshape", tests, NULL, NULL);
}
