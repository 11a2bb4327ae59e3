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

/* A temporary directory (dir, from a template) and an appender of its file
 * "lines" (path, 64 bytes). */
static struct aero_appender *open_in_temp(char *dir, char *path)
{
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, 64, "%s/lines", dir);
	struct aero_appender *a;
	assert_int_equal(aero_appender_open(&a, path), 0);
	return a;
}

/* Removes what open_in_temp made. */
static void remove_temp(const char *dir, const char *path)
{
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* Reads the file at path whole into text (size bytes at most). */
static void read_file(const char *path, char *text, size_t size)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	const size_t got = fread(text, 1, size - 1, f);
	fclose(f);
	text[got] = '\0';
}

static void test_lines_are_written_in_order(void **state)
{
	(void)state;
	char dir[] = "/tmp/aero-appender-XXXXXX";
	char path[64];
	struct aero_appender *a = open_in_temp(dir, path);
	queue_text(a, "one\n");
	queue_text(a, "two\n");
	assert_int_equal(aero_appender_queued(a), 8);
	assert_int_equal(aero_appender_flush(a), 0);
	assert_int_equal(aero_appender_queued(a), 0);
	assert_int_equal(aero_appender_write(a, "three\n", 6), 0);
	assert_int_equal(aero_appender_error(a), 0);
	assert_int_equal(aero_appender_close(a), 0);

	char text[32];
	read_file(path, text, sizeof(text));
	assert_string_equal(text, "one\ntwo\nthree\n");
	remove_temp(dir, path);
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

/* aero_appender_start: the lines go on the appender's thread while more are
 * queued; those go with the next start, in order. */
static void test_lines_written_on_the_thread(void **state)
{
	(void)state;
	char dir[] = "/tmp/aero-appender-XXXXXX";
	char path[64];
	struct aero_appender *a = open_in_temp(dir, path);
	char expected[64 * 1024] = "";
	size_t expected_len = 0;
	for (int batch = 0; batch < 200; batch++) {
		for (int i = 0; i < 20; i++) {
			char line[32];
			const int n = snprintf(line, sizeof(line), "%d.%d\n", batch, i);
			queue_text(a, line);
			memcpy(expected + expected_len, line, (size_t)n);
			expected_len += (size_t)n;
		}
		if (batch % 3 == 2)
			continue; /* these wait for the next start */
		assert_int_equal(aero_appender_finish(a), 0);
		aero_appender_start(a);
	}
	assert_int_equal(aero_appender_finish(a), 0);
	assert_int_equal(aero_appender_flush(a), 0);
	assert_int_equal(aero_appender_queued(a), 0);
	assert_int_equal(aero_appender_close(a), 0);
	static char text[64 * 1024];
	read_file(path, text, sizeof(text));
	assert_int_equal(strlen(text), expected_len);
	assert_memory_equal(text, expected, expected_len);
	remove_temp(dir, path);
}

/* A write on the thread that the disk refuses: its lines come back to the
 * head of the queue, before those queued while it went. */
static void test_a_refused_write_on_the_thread_comes_back_first(void **state)
{
	(void)state;
	struct aero_appender *a;
	if (aero_appender_open(&a, "/dev/full") < 0)
		skip();
	queue_text(a, "first\n");
	aero_appender_start(a);
	queue_text(a, "second\n");
	assert_int_equal(aero_appender_queued(a), 13);
	assert_int_equal(aero_appender_finish(a), 1);
	assert_int_equal(aero_appender_error(a), ENOSPC);
	assert_int_equal(aero_appender_queued(a), 13);
	assert_memory_equal(aero_appender_queue(a), "first\nsecond\n", 13);
	aero_appender_start(a);
	queue_text(a, "third\n");
	assert_int_equal(aero_appender_finish(a), 1);
	assert_memory_equal(aero_appender_queue(a), "first\nsecond\nthird\n", 19);
	assert_int_equal(aero_appender_close(a), 19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_lines_are_written_in_order),
	        cmocka_unit_test(test_a_full_disk_keeps_the_lines_queued),
	        cmocka_unit_test(test_lines_written_on_the_thread),
	        cmocka_unit_test(test_a_refused_write_on_the_thread_comes_back_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
