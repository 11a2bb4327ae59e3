/* Unit tests: value parsers and signal names. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>

#include "error.h"
#include "parse.h"
#include "signame.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void test_int(void **state)
{
	(void)state;
	long v = 0;
	assert_int_equal(aero_parse_int("42", 0, 255, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(aero_parse_int("0", 0, 255, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(aero_parse_int("256", 0, 255, &v), -1);
	assert_non_null(strstr(aero_error_last(), "'256' is not a whole number from 0 to 255"));
	assert_int_equal(aero_parse_int("-1", 0, 255, &v), -1);
	assert_int_equal(aero_parse_int("4x", 0, 255, &v), -1);
	assert_int_equal(aero_parse_int(" 4", 0, 255, &v), -1);
	assert_int_equal(aero_parse_int("", 0, 255, &v), -1);
	assert_int_equal(aero_parse_int("99999999999999999999999", 0, 255, &v), -1);
}

static void test_bool(void **state)
{
	(void)state;
	bool b = false;
	const char *yes[] = {"1", "true", "TRUE", "yes", "On"};
	const char *no[] = {"0", "false", "No", "off"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(aero_parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(aero_parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	assert_int_equal(aero_parse_bool("maybe", &b), -1);
	assert_int_equal(aero_parse_bool("", &b), -1);
}

static void test_duration(void **state)
{
	(void)state;
	long ms = 0;
	assert_int_equal(aero_parse_duration_ms("10", 100000, &ms), 0);
	assert_int_equal(ms, 10000);
	assert_int_equal(aero_parse_duration_ms("2.5", 100000, &ms), 0);
	assert_int_equal(ms, 2500);
	assert_int_equal(aero_parse_duration_ms("500ms", 100000, &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(aero_parse_duration_ms("30s", 100000, &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(aero_parse_duration_ms("1m", 100000, &ms), 0);
	assert_int_equal(ms, 60000);
	assert_int_equal(aero_parse_duration_ms("0", 100000, &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(aero_parse_duration_ms("2m", 100000, &ms), -1);
	assert_non_null(strstr(aero_error_last(), "longer than the limit"));
	const char *bad[] = {"", "-1", "soon", "1h", "nan", "inf", "1e999", " 1", "1 s"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(aero_parse_duration_ms(bad[i], 100000, &ms), -1);
}

/* Found by fuzz/fuzz_parse.c: with the limit at LONG_MAX, a duration of
 * 2^63 ms passed the limit check ((double)LONG_MAX is 2^63) and its
 * conversion to long was undefined. */
static void test_duration_at_long_max(void **state)
{
	(void)state;
	long ms = -1;
	assert_int_equal(aero_parse_duration_ms("9223372036854777", LONG_MAX, &ms), -1);
	assert_int_equal(aero_parse_duration_ms("9223372036854775808ms", LONG_MAX, &ms), -1);
	assert_int_equal(aero_parse_duration_ms("9223372036854774ms", LONG_MAX, &ms), 0);
	assert_true(ms > 0);
}

static void test_cpus(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		long long nano;
	} good[] = {
	        {"2", 2000000000LL},           {"0.5", 500000000LL},
	        {"1.000000001", 1000000001LL}, {"0.000000001", 1},
	        {"1024", 1024000000000LL},     {"1024.000000000", 1024000000000LL},
	        {"007.25", 7250000000LL},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		long long nano = -1;
		if (aero_parse_cpus(good[i].text, &nano) != 0 || nano != good[i].nano)
			fail_msg("'%s' gave %lld: %s", good[i].text, nano, aero_error_last());
	}
	/* "1." and ".5" are refused alike: a point has digits on both sides. */
	static const char *const bad[] = {
	        "0",   "",       "1.",   ".5",           "abc", "1025",
	        "-1",  "1024.5", "0.0",  "1.0000000001", " 1",  "1 ",
	        "1e3", "+1",     "2.5.", "0x10",         "1,5", "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long long nano = -1;
		if (aero_parse_cpus(bad[i], &nano) != -1 || nano != -1)
			fail_msg("'%s' was taken as %lld CPUs", bad[i], nano);
		char want[96];
		(void)snprintf(want, sizeof(want), "'%s' is not a number of CPUs", bad[i]);
		assert_non_null(strstr(aero_error_last(), want));
	}
}

static void test_signal_parse(void **state)
{
	(void)state;
	int sig = 0;
	assert_int_equal(aero_signal_parse("TERM", 0, &sig), 0);
	assert_int_equal(sig, SIGTERM);
	assert_int_equal(aero_signal_parse("SIGusr1", 0, &sig), 0);
	assert_int_equal(sig, SIGUSR1);
	assert_int_equal(aero_signal_parse("9", 0, &sig), 0);
	assert_int_equal(sig, SIGKILL);
	assert_int_equal(aero_signal_parse("RTMIN", 0, &sig), 0);
	assert_int_equal(sig, SIGRTMIN);
	assert_int_equal(aero_signal_parse("SIGRTMIN+3", 0, &sig), 0);
	assert_int_equal(sig, SIGRTMIN + 3);
	assert_int_equal(aero_signal_parse("RTMAX-1", 0, &sig), 0);
	assert_int_equal(sig, SIGRTMAX - 1);
	assert_int_equal(aero_signal_parse("0", 1, &sig), 0);
	assert_int_equal(sig, 0);
	assert_int_equal(aero_signal_parse("0", 0, &sig), -1);
	assert_int_equal(aero_signal_parse("RTMIN+99", 0, &sig), -1);
	assert_int_equal(aero_signal_parse("RTMAX+1", 0, &sig), -1);
	assert_int_equal(aero_signal_parse("65", 0, &sig), -1);
	assert_int_equal(aero_signal_parse("TERMINATE", 0, &sig), -1);
	assert_non_null(strstr(aero_error_last(), "unknown signal 'TERMINATE'"));
	assert_int_equal(aero_signal_parse("", 0, &sig), -1);
}

static void test_signal_name(void **state)
{
	(void)state;
	char buf[32];
	assert_string_equal(aero_signal_name(SIGTERM, buf, sizeof(buf)), "SIGTERM");
	assert_string_equal(aero_signal_name(SIGRTMIN, buf, sizeof(buf)), "SIGRTMIN");
	assert_string_equal(aero_signal_name(SIGRTMIN + 2, buf, sizeof(buf)), "SIGRTMIN+2");
	assert_string_equal(aero_signal_name(33, buf, sizeof(buf)), "signal 33");
	/* Every name printed parses back to the same number. */
	for (int sig = 1; sig <= SIGRTMAX; sig++) {
		if (sig > 31 && sig < SIGRTMIN)
			continue;
		int back = 0;
		assert_int_equal(
		        aero_signal_parse(aero_signal_name(sig, buf, sizeof(buf)), 0, &back), 0);
		assert_int_equal(back, sig);
	}
	/* A small buffer truncates, never overflows. */
	char tiny[4];
	assert_string_equal(aero_signal_name(SIGTERM, tiny, sizeof(tiny)), "SIG");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_int),         cmocka_unit_test(test_bool),
	        cmocka_unit_test(test_duration),    cmocka_unit_test(test_duration_at_long_max),
	        cmocka_unit_test(test_cpus),        cmocka_unit_test(test_signal_parse),
	        cmocka_unit_test(test_signal_name),
	};
	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
