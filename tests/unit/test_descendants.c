/* Unit tests: finding every descendant in a process table. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "descendants.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static bool marked(const struct aero_process *table, size_t count, pid_t pid)
{
	for (size_t i = 0; i < count; i++)
		if (table[i].pid == pid)
			return table[i].descendant;
	fail_msg("pid %d not in the table", (int)pid);
	return false;
}

static void test_mark_generations(void **state)
{
	(void)state;
	/* 1 -> 10 (root) -> 20 -> 30 -> 40; 10 -> 21; unrelated 50 -> 60; listed out of order,
	 * deep chains after their roots so that one pass cannot find them all. */
	struct aero_process table[] = {
	        {40, 30, false}, {30, 20, false}, {60, 50, false}, {20, 10, false},
	        {21, 10, false}, {50, 1, false},  {10, 1, false},  {1, 0, false},
	};
	const size_t count = sizeof(table) / sizeof(table[0]);
	assert_int_equal(aero_descendants_mark(table, count, 10), 4);
	assert_true(marked(table, count, 20));
	assert_true(marked(table, count, 21));
	assert_true(marked(table, count, 30));
	assert_true(marked(table, count, 40));
	assert_false(marked(table, count, 10));
	assert_false(marked(table, count, 50));
	assert_false(marked(table, count, 60));
	assert_false(marked(table, count, 1));
}

static void test_mark_none(void **state)
{
	(void)state;
	struct aero_process table[] = {{2, 1, true}, {3, 1, true}};
	assert_int_equal(aero_descendants_mark(table, 2, 99), 0);
	assert_false(table[0].descendant || table[1].descendant);
	assert_int_equal(aero_descendants_mark(NULL, 0, 1), 0);
}

static void test_default_action(void **state)
{
	(void)state;
	const pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGTSTP, SIG_IGN);
		pause();
		_exit(0);
	}
	/* Wait until the child has ignored SIGTSTP. */
	for (int i = 0; i < 2000 && aero_process_has_default_action(pid, SIGTSTP); i++)
		usleep(1000);
	assert_false(aero_process_has_default_action(pid, SIGTSTP));
	assert_true(aero_process_has_default_action(pid, SIGTTIN));
	assert_true(aero_process_has_default_action(getpid() + 4000000, SIGTSTP)); /* no such */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_mark_generations),
	        cmocka_unit_test(test_mark_none),
	        cmocka_unit_test(test_default_action),
	};
	return cmocka_run_group_tests_name("descendants", tests, NULL, NULL);
}
