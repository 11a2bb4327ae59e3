/* Unit tests: aero-init's options, their AERO_* variables, and exit statuses. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "error.h"
#include "log.h"
#include "options.h"
#include "supervise.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *const variables[] = {
        "AERO_GRACE_PERIOD",   "AERO_SIGNAL_CHILD_ONLY", "AERO_REMAP_EXIT",     "AERO_PDEATHSIG",
        "AERO_SIGNAL_REWRITE", "AERO_VERBOSITY",         "AERO_CONSOLE",        "AERO_USER",
        "AERO_CAPS",           "AERO_HERMETIC",          "AERO_ALLOW_NEW_PRIVS"};

static int clear_environment(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(variables) / sizeof(variables[0]); i++)
		unsetenv(variables[i]);
	return 0;
}

/* Parses a NULL-terminated list of arguments after "aero-init". The copies
 * live until the next call, since opts->command points into them. */
static char *arguments[32];

static int parse(struct aero_init_options *opts, ...)
{
	for (size_t i = 0; arguments[i] != NULL; i++) {
		free(arguments[i]);
		arguments[i] = NULL;
	}
	va_list ap;
	va_start(ap, opts);
	int argc = 0;
	arguments[argc++] = strdup("aero-init");
	for (const char *arg = va_arg(ap, const char *); arg != NULL;
	     arg = va_arg(ap, const char *)) {
		assert_true(argc < 31);
		arguments[argc++] = strdup(arg);
	}
	va_end(ap);
	arguments[argc] = NULL;
	return aero_init_options_parse(opts, argc, arguments);
}

#define PARSE(opts, ...) parse((opts), __VA_ARGS__, (const char *)NULL)

static void test_defaults(void **state)
{
	(void)state;
	struct aero_init_options o;
	assert_int_equal(PARSE(&o, "--", "train", "--lr", "3"), 0);
	assert_int_equal(o.action, AERO_INIT_RUN);
	assert_int_equal(o.grace_ms, AERO_DEFAULT_GRACE_MS);
	assert_false(o.child_only);
	assert_int_equal(o.pdeathsig, 0);
	assert_int_equal(o.verbosity, AERO_LOG_WARN);
	assert_string_equal(o.command[0], "train");
	assert_string_equal(o.command[1], "--lr"); /* options after -- belong to the command */
	for (int sig = 1; sig < AERO_SIGNAL_LIMIT; sig++)
		assert_int_equal(o.rewrite[sig], sig);
	for (int code = 0; code < 256; code++)
		assert_false(o.remap_exit[code]);
}

static void test_options(void **state)
{
	(void)state;
	struct aero_init_options o;
	assert_int_equal(PARSE(&o, "-g", "2.5", "-c", "-e", "3", "--remap-exit=143", "-p", "INT",
	                       "-r", "TERM:USR1", "--rewrite", "WINCH:0", "-vv", "train"),
	                 0);
	assert_int_equal(o.grace_ms, 2500);
	assert_true(o.child_only);
	assert_true(o.remap_exit[3]);
	assert_true(o.remap_exit[143]);
	assert_false(o.remap_exit[1]);
	assert_int_equal(o.pdeathsig, SIGINT);
	assert_int_equal(o.rewrite[SIGTERM], SIGUSR1);
	assert_int_equal(o.rewrite[SIGWINCH], 0);
	assert_int_equal(o.verbosity, AERO_LOG_DEBUG);
	assert_string_equal(o.command[0], "train");
}

static void test_environment_then_options(void **state)
{
	(void)state;
	struct aero_init_options o;
	setenv("AERO_GRACE_PERIOD", "3", 1);
	setenv("AERO_SIGNAL_CHILD_ONLY", "yes", 1);
	setenv("AERO_REMAP_EXIT", "1,2", 1);
	setenv("AERO_PDEATHSIG", "SIGHUP", 1);
	setenv("AERO_SIGNAL_REWRITE", "TERM:INT,HUP:0", 1);
	setenv("AERO_VERBOSITY", "0", 1);
	assert_int_equal(PARSE(&o, "-g", "1", "-e", "5", "--", "x"), 0);
	assert_int_equal(o.grace_ms, 1000); /* the option wins */
	assert_true(o.child_only);
	assert_true(o.remap_exit[1] && o.remap_exit[2] && o.remap_exit[5]);
	assert_int_equal(o.pdeathsig, SIGHUP);
	assert_int_equal(o.rewrite[SIGTERM], SIGINT);
	assert_int_equal(o.rewrite[SIGHUP], 0);
	assert_int_equal(o.verbosity, AERO_LOG_ERROR);
	clear_environment(NULL);
}

static void test_errors_name_the_source(void **state)
{
	(void)state;
	struct aero_init_options o;
	setenv("AERO_GRACE_PERIOD", "later", 1);
	assert_int_equal(PARSE(&o, "x"), -1);
	assert_non_null(strstr(aero_error_last(), "AERO_GRACE_PERIOD: 'later' is not a duration"));
	clear_environment(NULL);

	assert_int_equal(PARSE(&o, "--grace", "later", "x"), -1);
	assert_non_null(strstr(aero_error_last(), "--grace: 'later'"));
	assert_int_equal(PARSE(&o, "-r", "CHLD:TERM", "x"), -1);
	assert_non_null(strstr(aero_error_last(), "cannot be rewritten"));
	assert_int_equal(PARSE(&o, "--nope", "x"), -1);
	assert_non_null(strstr(aero_error_last(), "unknown option '--nope'"));
	assert_int_equal(PARSE(&o, "-g"), -1);
	assert_non_null(strstr(aero_error_last(), "needs a value"));
	assert_int_equal(PARSE(&o, "-v"), -1);
	assert_non_null(strstr(aero_error_last(), "no command given"));
}

static void test_console(void **state)
{
	(void)state;
	struct aero_init_options o;
	assert_int_equal(PARSE(&o, "x"), 0);
	assert_true(o.console); /* on by default: it needs a run directory anyway */
	assert_int_equal(PARSE(&o, "--console=off", "x"), 0);
	assert_false(o.console);
	setenv("AERO_CONSOLE", "0", 1);
	assert_int_equal(PARSE(&o, "x"), 0);
	assert_false(o.console);
	assert_int_equal(PARSE(&o, "--console", "on", "x"), 0); /* the option wins */
	assert_true(o.console);
	assert_int_equal(PARSE(&o, "--console=loud", "x"), -1);
	assert_non_null(strstr(aero_error_last(), "--console: 'loud'"));
	clear_environment(NULL);
}

static void test_actions_need_no_command(void **state)
{
	(void)state;
	struct aero_init_options o;
	assert_int_equal(PARSE(&o, "--help"), 0);
	assert_int_equal(o.action, AERO_INIT_HELP);
	assert_int_equal(PARSE(&o, "-V"), 0);
	assert_int_equal(o.action, AERO_INIT_VERSION);
	assert_int_equal(PARSE(&o, "--build-info"), 0);
	assert_int_equal(o.action, AERO_INIT_BUILD_INFO);
}

static void test_privileges(void **state)
{
	(void)state;
	struct aero_init_options o;
	assert_int_equal(PARSE(&o, "x"), 0);
	assert_null(o.user);
	assert_int_equal(o.caps, 0); /* none, for root too */
	assert_false(o.hermetic);
	assert_false(o.allow_new_privs);
	assert_int_equal(PARSE(&o, "--user", "alice:data", "--caps",
	                       "cap_net_bind_service,SYS_PTRACE", "--hermetic", "--allow-new-privs",
	                       "x"),
	                 0);
	assert_string_equal(o.user, "alice:data");
	assert_int_equal(o.caps, (1ULL << 10) | (1ULL << 19));
	assert_true(o.hermetic);
	assert_true(o.allow_new_privs);
	setenv("AERO_USER", "1000", 1);
	setenv("AERO_CAPS", "none", 1);
	setenv("AERO_HERMETIC", "1", 1);
	assert_int_equal(PARSE(&o, "x"), 0);
	assert_string_equal(o.user, "1000");
	assert_int_equal(o.caps, 0);
	assert_true(o.hermetic);
	clear_environment(NULL);

	assert_int_equal(PARSE(&o, "--caps", "cap_fly", "x"), -1);
	assert_non_null(strstr(aero_error_last(), "--caps: 'cap_fly' is not a capability"));
	assert_int_equal(PARSE(&o, "--caps", "12", "x"), -1); /* numbers are not names */
	for (size_t i = 0; i < 4; i++) {
		static const char *const bad[] = {":data", "alice:", "a:b:c", ""};
		assert_int_equal(PARSE(&o, "--user", bad[i], "x"), -1);
		assert_non_null(strstr(aero_error_last(), "is not USER or USER:GROUP"));
	}
	setenv("AERO_HERMETIC", "perhaps", 1);
	assert_int_equal(PARSE(&o, "x"), -1);
	assert_non_null(strstr(aero_error_last(), "AERO_HERMETIC: 'perhaps'"));
	clear_environment(NULL);
}

static void test_exit_status(void **state)
{
	(void)state;
	struct aero_init_options o;
	assert_int_equal(PARSE(&o, "-e", "143", "-e", "3", "x"), 0);
	assert_int_equal(aero_exit_status(&o, W_EXITCODE(0, 0)), 0);
	assert_int_equal(aero_exit_status(&o, W_EXITCODE(2, 0)), 2);
	assert_int_equal(aero_exit_status(&o, W_EXITCODE(3, 0)), 0);
	assert_int_equal(aero_exit_status(&o, W_EXITCODE(0, SIGKILL)), 137);
	assert_int_equal(aero_exit_status(&o, W_EXITCODE(0, SIGTERM)), 0);
	assert_int_equal(aero_exit_status(&o, W_EXITCODE(0, SIGSEGV)), 139);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_defaults, clear_environment),
	        cmocka_unit_test_setup(test_options, clear_environment),
	        cmocka_unit_test_setup(test_environment_then_options, clear_environment),
	        cmocka_unit_test_setup(test_errors_name_the_source, clear_environment),
	        cmocka_unit_test_setup(test_console, clear_environment),
	        cmocka_unit_test_setup(test_actions_need_no_command, clear_environment),
	        cmocka_unit_test_setup(test_privileges, clear_environment),
	        cmocka_unit_test_setup(test_exit_status, clear_environment),
	};
	const int failed = cmocka_run_group_tests_name("options", tests, NULL, NULL);
	for (size_t i = 0; arguments[i] != NULL; i++)
		free(arguments[i]);
	return failed;
}
