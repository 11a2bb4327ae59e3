/* Unit tests: an append-only file of lines whose writes wait in memory, in
 * order, while the disk refuses them (/dev/full refuses every write with
 * ENOSPC); the e2e tests (test_disk_full.py) use a real full filesystem. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "appender.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void queue_text(struct aero_appender *a, const char *text)
{
	char *room = aero_appender_reserve(a, strlen(text));
	assert_non_null(room);
	memcpy(room, text, strlen(text));
	aero_appender_commit(a, strlen(text));
}

static void test_lines_are_written_in_order(void **state)
{
	(void)state;
	char dir[] = "/tmp/aero-appender-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	(void)snprintf(path, sizeof(path), "%s/lines", dir);
	struct aero_appender *a;
	assert_int_equal(aero_appender_open(&a, path), 0);
	queue_text(a, "one\n");
	queue_text(a, "two\n");
	assert_int_equal(aero_appender_queued(a), 8);
	assert_int_equal(aero_appender_flush(a), 0);
	assert_int_equal(aero_appender_queued(a), 0);
	assert_int_equal(aero_appender_write(a, "three\n", 6), 0);
	assert_int_equal(aero_appender_error(a), 0);
	assert_int_equal(aero_appender_close(a), 0);

	char text[32] = "";
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	const size_t got = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[got] = '\0';
	assert_string_equal(text, "one\ntwo\nthree\n");
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_a_full_disk_keeps_the_lines_queued(void **state)
{
	(void)state;
	struct aero_appender *a;
	if (aero_appender_open(&a, "/dev/full") < 0)
		skip();
	queue_text(a, "first\n");
	assert_int_equal(aero_appender_flush(a), 1);
	assert_int_equal(aero_appender_error(a), ENOSPC);
	assert_int_equal(aero_appender_write(a, "second\n", 7), 1);
	assert_int_equal(aero_appender_queued(a), 13);
	assert_memory_equal(aero_appender_queue(a), "first\nsecond\n", 13);
	assert_int_equal(aero_appender_close(a), 13); /* never written: reported lost */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lines_are_written_in_order),
	        cmocka_unit_test(test_a_full_disk_keeps_the_lines_queued),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
