/* Unit tests: bytes made valid UTF-8 as Python's decode(errors="replace")
 * does, and where a stream may be cut without splitting a character. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#define FFFD "\xef\xbf\xbd"

struct sample {
	const char *in;
	size_t len;
	const char *out; /* Python: in.decode("utf-8", "replace"), NUL as U+FFFD too */
};

static const struct sample samples[] = {
        {"plain ascii", 11, "plain ascii"},
        {"", 0, ""},
        {"caf\xc3\xa9", 5, "caf\xc3\xa9"},
        {"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"},
        {"\xff", 1, FFFD},
        {"\xc0\xaf", 2, FFFD FFFD},                   /* overlong */
        {"\xe0\x80\xaf", 3, FFFD FFFD FFFD},          /* overlong */
        {"\xed\xa0\x80", 3, FFFD FFFD FFFD},          /* a surrogate */
        {"\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD}, /* past U+10FFFF */
        {"\xf0\x9f\x98", 3, FFFD},                    /* one truncated character */
        {"\xe2\x82 x", 4, FFFD " x"},                 /* cut short by a space */
        {"a\0b", 3, "a" FFFD "b"},                    /* NUL */
        {"\x80\x80", 2, FFFD FFFD},                   /* lone continuations */
        {"\xf8\x88\x80\x80\x80", 5, FFFD FFFD FFFD FFFD FFFD},
        {"\xe2\x82\xac\xe2\x82", 5, "\xe2\x82\xac" FFFD}, /* valid, then truncated */
        {"tab\t\x1b[31m\r", 10, "tab\t\x1b[31m\r"},       /* controls are kept */
};

static void test_sanitize_like_python(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		const struct sample *s = &samples[i];
		char *out = malloc(AERO_UTF8_SANITIZED_MAX(s->len) + 1);
		assert_non_null(out);
		const size_t n = aero_utf8_sanitize(out, s->in, s->len);
		out[n] = '\0';
		assert_int_equal(n, strlen(s->out));
		assert_memory_equal(out, s->out, n);
		free(out);
	}
}

static void test_plain(void **state)
{
	(void)state;
	char text[200];
	memset(text, 'x', sizeof(text));
	assert_true(aero_utf8_is_plain(text, sizeof(text)));
	for (size_t at = 0; at < sizeof(text); at += 13) { /* in blocks, words and the tail */
		text[at] = '\x80';
		assert_false(aero_utf8_is_plain(text, sizeof(text)));
		text[at] = '\0';
		assert_false(aero_utf8_is_plain(text, sizeof(text)));
		text[at] = '\x7f';
		assert_true(aero_utf8_is_plain(text, sizeof(text)));
		text[at] = 'x';
	}
	assert_true(aero_utf8_is_plain("", 0));
}

static void test_incomplete_tail(void **state)
{
	(void)state;
	assert_int_equal(aero_utf8_incomplete_tail("abc", 3), 0);
	assert_int_equal(aero_utf8_incomplete_tail("ab\xe2", 3), 1);
	assert_int_equal(aero_utf8_incomplete_tail("ab\xe2\x82", 4), 2);
	assert_int_equal(aero_utf8_incomplete_tail("ab\xe2\x82\xac", 5), 0); /* complete */
	assert_int_equal(aero_utf8_incomplete_tail("\xf0\x9f\x98", 3), 3);
	assert_int_equal(aero_utf8_incomplete_tail("\xe0\x80", 2), 0); /* never valid */
	assert_int_equal(aero_utf8_incomplete_tail("\x80\x80\x80", 3), 0);
	assert_int_equal(aero_utf8_incomplete_tail("\xff", 1), 0);
	assert_int_equal(aero_utf8_incomplete_tail("", 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_sanitize_like_python),
	        cmocka_unit_test(test_plain),
	        cmocka_unit_test(test_incomplete_tail),
	};
	return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
