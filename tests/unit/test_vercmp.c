/* Unit tests: package version ordering (Debian Policy's algorithm). */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "vercmp.h"

static void test_order(void **state)
{
	(void)state;
	/* Each version is older than the next. */
	static const char *const ascending[] = {
	        "1.0~rc1", "1.0", "1.0-1", "1.0-1+b1", "1.0-2",           "1.0a",
	        "1.0.1",   "1.2", "1.10",  "2:0.1",    "2:0.1-1~deb12u1", "2:0.1-1",
	};
	const size_t n = sizeof(ascending) / sizeof(ascending[0]);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(aero_version_compare(ascending[i], ascending[i]), 0);
		for (size_t j = i + 1; j < n; j++) {
			if (aero_version_compare(ascending[i], ascending[j]) >= 0)
				fail_msg("%s should sort before %s", ascending[i], ascending[j]);
			if (aero_version_compare(ascending[j], ascending[i]) <= 0)
				fail_msg("%s should sort after %s", ascending[j], ascending[i]);
		}
	}
}

static void test_equal_forms(void **state)
{
	(void)state;
	assert_int_equal(aero_version_compare("0:1.0", "1.0"), 0);
	assert_int_equal(aero_version_compare("1.01", "1.1"), 0);
	assert_true(aero_version_compare("3.0.11-1~deb12u2", "3.0.13-1~deb12u1") < 0);
	assert_true(aero_version_compare("2.3.4", "2.3.5") < 0);
	assert_true(aero_version_compare("", "0") < 0 || aero_version_compare("", "0") == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_order),
	                                   cmocka_unit_test(test_equal_forms)};
	return cmocka_run_group_tests_name("vercmp", tests, NULL, NULL);
}
