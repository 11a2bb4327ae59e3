/* Unit tests: the local sink's history rows (shim/spool.c), as they land in
 * metrics.jsonl: the step each row gets, counted up in place from the last
 * one, across every change in the number of digits and after jumps. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "error.h"
#include "spool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char data[] = "{\"loss\":0.5}";

/* Logs one row with step (or AERO_SPOOL_NEXT_STEP) and notes the step it must get. */
static void log_row(struct aero_spool *spool, long long step, long long want, long long *expected,
                    size_t *count)
{
	if (aero_spool_log(spool, data, sizeof(data) - 1, step) != 0)
		fail_msg("refused step %lld: %s", step, aero_error_last());
	expected[(*count)++] = want;
}

static void test_steps(void **state)
{
	(void)state;
	char dir[] = "/tmp/aero-test-spool-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct aero_spool *spool = NULL;
	assert_int_equal(aero_spool_open(&spool, dir), 0);

	enum { ROWS = 3000 };
	long long *expected = calloc(ROWS, sizeof(*expected));
	assert_non_null(expected);
	size_t count = 0;
	/* 0 to 1099 one by one: 9 -> 10, 99 -> 100, 999 -> 1000. */
	for (long long step = 0; step < 1100; step++)
		log_row(spool, AERO_SPOOL_NEXT_STEP, step, expected, &count);
	log_row(spool, 1099, 1099, expected, &count);   /* the same step again */
	log_row(spool, 1100, 1100, expected, &count);   /* the next, given */
	log_row(spool, 99998, 99998, expected, &count); /* a jump */
	log_row(spool, AERO_SPOOL_NEXT_STEP, 99999, expected, &count);
	log_row(spool, AERO_SPOOL_NEXT_STEP, 100000, expected, &count);
	log_row(spool, 100000, 100000, expected, &count);
	log_row(spool, 9000000000000000LL, 9000000000000000LL, expected, &count);
	log_row(spool, AERO_SPOOL_NEXT_STEP, 9000000000000001LL, expected, &count);
	assert_int_equal(aero_spool_flush(spool), 0);
	/* A step that goes back is refused and leaves the count alone. */
	assert_int_equal(aero_spool_log(spool, data, sizeof(data) - 1, 5), -1);
	log_row(spool, AERO_SPOOL_NEXT_STEP, 9000000000000002LL, expected, &count);
	aero_spool_close(spool);

	char path[sizeof(dir) + 32];
	(void)snprintf(path, sizeof(path), "%s/metrics.jsonl", dir);
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	char line[256];
	size_t rows = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		assert_true(rows < count);
		char want[64];
		(void)snprintf(want, sizeof(want),
		               "{\"_step\":%lld,\"_timestamp\":", expected[rows]);
		if (strncmp(line, want, strlen(want)) != 0)
			fail_msg("row %zu: %s, not %s...", rows, line, want);
		assert_non_null(strstr(line, ",\"loss\":0.5}\n"));
		rows++;
	}
	assert_int_equal(rows, count);
	fclose(f);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	free(expected);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_steps),
	};
	return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
