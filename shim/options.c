#include "options.h"

#include "capnames.h"
#include "courier.h"
#include "error.h"
#include "log.h"
#include "parse.h"
#include "redact.h"
#include "signame.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Each setting is applied by one function from either source, so an option and
 * its variable can never drift apart. `source` names it in error messages. */
typedef int (*setting_fn)(struct aero_init_options *opts, const char *value, const char *source);

static int set_grace(struct aero_init_options *opts, const char *value, const char *source)
{
	if (aero_parse_duration_ms(value, AERO_MAX_GRACE_MS, &opts->grace_ms) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	return 0;
}

static int set_child_only(struct aero_init_options *opts, const char *value, const char *source)
{
	if (value == NULL) {
		opts->child_only = true;
		return 0;
	}
	if (aero_parse_bool(value, &opts->child_only) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	return 0;
}

static int set_pdeathsig(struct aero_init_options *opts, const char *value, const char *source)
{
	if (aero_signal_parse(value, 0, &opts->pdeathsig) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	return 0;
}

static int set_verbosity(struct aero_init_options *opts, const char *value, const char *source)
{
	long level;
	if (aero_parse_int(value, AERO_LOG_ERROR, AERO_LOG_DEBUG, &level) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	opts->verbosity = (int)level;
	return 0;
}

static int set_seed(struct aero_init_options *opts, const char *value, const char *source)
{
	char *end = NULL;
	errno = 0;
	const unsigned long long seed = strtoull(value, &end, 10);
	if (!isdigit((unsigned char)value[0]) || errno != 0 || *end != '\0')
		return aero_error_set("%s: '%s' is not a seed (a whole number from 0 to %llu)",
		                      source, value, ULLONG_MAX);
	opts->seed = seed;
	opts->seed_given = true;
	return 0;
}

static int set_deterministic(struct aero_init_options *opts, const char *value, const char *source)
{
	if (value == NULL) {
		opts->deterministic = true;
		return 0;
	}
	if (aero_parse_bool(value, &opts->deterministic) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	return 0;
}

static int set_run_dir(struct aero_init_options *opts, const char *value, const char *source)
{
	if (*value == '\0')
		return aero_error_set("%s: empty directory", source);
	opts->run_dir = value;
	return 0;
}

static int set_system_interval(struct aero_init_options *opts, const char *value,
                               const char *source)
{
	if (aero_parse_duration_ms(value, AERO_MAX_GRACE_MS, &opts->system_interval_ms) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	if (opts->system_interval_ms > 0 && opts->system_interval_ms < 100)
		return aero_error_set("%s: '%s' is shorter than the shortest interval, 100ms",
		                      source, value);
	return 0;
}

/* --no-capture, or AERO_CAPTURE=0/1. */
static int set_capture(struct aero_init_options *opts, const char *value, const char *source)
{
	if (value == NULL) {
		opts->capture = false;
		return 0;
	}
	if (aero_parse_bool(value, &opts->capture) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	return 0;
}

/* --console=on|off, or AERO_CONSOLE. */
static int set_console(struct aero_init_options *opts, const char *value, const char *source)
{
	if (aero_parse_bool(value, &opts->console) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	return 0;
}

/* --no-record, or AERO_RECORD=0/1. */
static int set_record(struct aero_init_options *opts, const char *value, const char *source)
{
	if (value == NULL) {
		opts->record = false;
		return 0;
	}
	if (aero_parse_bool(value, &opts->record) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	return 0;
}

static int set_tracker(struct aero_init_options *opts, const char *value, const char *source)
{
	if (aero_courier_check_trackers(value) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	opts->trackers = value;
	return 0;
}

static int set_tracker_interval(struct aero_init_options *opts, const char *value,
                                const char *source)
{
	if (aero_parse_duration_ms(value, AERO_MAX_GRACE_MS, &opts->tracker_interval_ms) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	if (opts->tracker_interval_ms < 100)
		return aero_error_set("%s: '%s' is shorter than the shortest interval, 100ms",
		                      source, value);
	return 0;
}

static int set_tracker_timeout(struct aero_init_options *opts, const char *value,
                               const char *source)
{
	if (aero_parse_duration_ms(value, AERO_MAX_GRACE_MS, &opts->tracker_timeout_ms) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	return 0;
}

/* --user USER[:GROUP]: checked for form here, resolved in privileges.c. */
static int set_user(struct aero_init_options *opts, const char *value, const char *source)
{
	const char *colon = strchr(value, ':');
	if (*value == '\0' || colon == value || (colon != NULL && colon[1] == '\0') ||
	    (colon != NULL && strchr(colon + 1, ':') != NULL))
		return aero_error_set(
		        "%s: '%s' is not USER or USER:GROUP (a name or a number each)", source,
		        value);
	opts->user = value;
	return 0;
}

static int set_caps(struct aero_init_options *opts, const char *value, const char *source)
{
	if (aero_caps_parse(value, &opts->caps) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	return 0;
}

static int set_hermetic(struct aero_init_options *opts, const char *value, const char *source)
{
	if (value == NULL) {
		opts->hermetic = true;
		return 0;
	}
	if (aero_parse_bool(value, &opts->hermetic) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	return 0;
}

static int set_allow_new_privs(struct aero_init_options *opts, const char *value,
                               const char *source)
{
	if (value == NULL) {
		opts->allow_new_privs = true;
		return 0;
	}
	if (aero_parse_bool(value, &opts->allow_new_privs) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	return 0;
}

/* Applies fn to each comma-separated item of a list such as "1,143". */
static int for_each_item(struct aero_init_options *opts, const char *list, const char *source,
                         int (*fn)(struct aero_init_options *, const char *, const char *))
{
	char *copy = strdup(list);
	if (copy == NULL)
		return aero_error_set("out of memory");
	int rc = 0;
	char *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
	     item = strtok_r(NULL, ",", &save))
		rc = fn(opts, item, source);
	free(copy);
	return rc;
}

static int add_remap(struct aero_init_options *opts, const char *item, const char *source)
{
	long status;
	if (aero_parse_int(item, 0, 255, &status) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	opts->remap_exit[status] = true;
	return 0;
}

static int set_remap(struct aero_init_options *opts, const char *value, const char *source)
{
	return for_each_item(opts, value, source, add_remap);
}

static int add_rewrite(struct aero_init_options *opts, const char *item, const char *source)
{
	const char *colon = strchr(item, ':');
	if (colon == NULL)
		return aero_error_set("%s: '%s' is not FROM:TO (for example TERM:INT, or WINCH:0 "
		                      "to drop SIGWINCH)",
		                      source, item);
	char *from_text = strndup(item, (size_t)(colon - item));
	if (from_text == NULL)
		return aero_error_set("out of memory");
	int from, to;
	const int rc = aero_signal_parse(from_text, 0, &from);
	free(from_text);
	if (rc < 0 || aero_signal_parse(colon + 1, 1, &to) < 0)
		return aero_error_set("%s: %s", source, aero_error_last());
	if (from == SIGKILL || from == SIGSTOP || from == SIGCHLD)
		return aero_error_set("%s: '%s': SIGKILL, SIGSTOP and SIGCHLD are never forwarded, "
		                      "so they cannot be rewritten",
		                      source, item);
	opts->rewrite[from] = to;
	return 0;
}

static int set_rewrite(struct aero_init_options *opts, const char *value, const char *source)
{
	return for_each_item(opts, value, source, add_rewrite);
}

struct setting {
	const char *long_name;
	int short_name;
	int has_arg;
	const char *env;
	setting_fn apply;
	const char *arg_name;
	const char *help;
};

enum {
	OPT_BUILD_INFO = 256,
	OPT_RUN_DIR,
	OPT_NO_CAPTURE,
	OPT_SYSTEM_INTERVAL,
	OPT_NO_RECORD,
	OPT_TRACKER,
	OPT_TRACKER_INTERVAL,
	OPT_TRACKER_TIMEOUT,
	OPT_CONSOLE,
	OPT_USER,
	OPT_CAPS,
	OPT_HERMETIC,
	OPT_ALLOW_NEW_PRIVS,
};

static const struct setting settings[] = {
        {"grace", 'g', required_argument, "AERO_GRACE_PERIOD", set_grace, "DURATION",
         "time descendants get between SIGTERM and SIGKILL when the experiment ends or "
         "aero-init is asked to stop (default 10s)"},
        {"child-only", 'c', no_argument, "AERO_SIGNAL_CHILD_ONLY", set_child_only, NULL,
         "forward signals to the direct child only, not its whole process group"},
        {"remap-exit", 'e', required_argument, "AERO_REMAP_EXIT", set_remap, "N",
         "report exit status N as 0 (repeatable; the variable takes a list: 1,143)"},
        {"pdeathsig", 'p', required_argument, "AERO_PDEATHSIG", set_pdeathsig, "SIG",
         "have the kernel send SIG to aero-init when its parent dies (it is then forwarded)"},
        {"rewrite", 'r', required_argument, "AERO_SIGNAL_REWRITE", set_rewrite, "FROM:TO",
         "forward signal FROM as TO, or drop it with TO=0 (repeatable; the variable takes a "
         "list: TERM:INT,WINCH:0)"},
        {"verbose", 'v', no_argument, "AERO_VERBOSITY", set_verbosity, NULL,
         "say more on stderr (repeatable; the variable takes a level: 0 errors, 1 warnings "
         "(default), 2 info, 3 debug)"},
        {"seed", 's', required_argument, "AERO_SEED", set_seed, "N",
         "the run's base seed, 0 to 2^64-1 (default: drawn from the OS); seeds for "
         "PYTHONHASHSEED and PL_GLOBAL_SEED are derived from it"},
        {"deterministic", 'd', no_argument, "AERO_DETERMINISTIC", set_deterministic, NULL,
         "export the settings that make cuBLAS, cuDNN, TensorFlow, XLA, oneMKL, NCCL and "
         "thread counts deterministic; a variable you set is kept"},
        {"run-dir", OPT_RUN_DIR, required_argument, "AERO_RUN_DIR", set_run_dir, "DIR",
         "record the run in DIR: the manifest before the experiment starts, then what it "
         "sends over AERO_SOCKET (doc/channel.md); default: a new directory named by the run "
         "id under AERO_RUNS_DIR, else $XDG_DATA_HOME/aeromancy/runs, else "
         "~/.local/share/aeromancy/runs"},
        {"no-record", OPT_NO_RECORD, no_argument, "AERO_RECORD", set_record, NULL,
         "record nothing: no run directory, no capture, no channel, no trackers; aero-init is "
         "then only an init (AERO_RECORD=0)"},
        {"tracker", OPT_TRACKER, required_argument, "AERO_TRACKER", set_tracker, "LIST",
         "where the records go besides the run directory: local (the default), wandb, mlflow, "
         "or a comma-separated list (doc/trackers.md)"},
        {"tracker-interval", OPT_TRACKER_INTERVAL, required_argument, "AERO_TRACKER_INTERVAL",
         set_tracker_interval, "DURATION",
         "send what is new to the trackers this often (default 5s)"},
        {"tracker-timeout", OPT_TRACKER_TIMEOUT, required_argument, "AERO_TRACKER_TIMEOUT",
         set_tracker_timeout, "DURATION",
         "when the experiment has ended, wait this long for the trackers to take the rest "
         "(default 60s); what is left is delivered by 'aero-init sync RUN_DIR'"},
        {"no-capture", OPT_NO_CAPTURE, no_argument, "AERO_CAPTURE", set_capture, NULL,
         "do not capture the environment (AERO_CAPTURE=0)"},
        {"system-interval", OPT_SYSTEM_INTERVAL, required_argument, "AERO_SYSTEM_INTERVAL",
         set_system_interval, "DURATION",
         "with a run directory, record CPU, memory and GPU use in system.jsonl this often "
         "(default 10s; 0 for never)"},
        {"console", OPT_CONSOLE, required_argument, "AERO_CONSOLE", set_console, "on|off",
         "with a run directory, pass the experiment's stdout and stderr through and record "
         "them with time stamps in output.log, each unless it is a terminal (default on)"},
        {"user", OPT_USER, required_argument, "AERO_USER", set_user, "USER[:GROUP]",
         "run the experiment as USER (a name from /etc/passwd or a number) with its groups "
         "from /etc/group, or with GROUP alone; aero-init itself stays root (doc/security.md)"},
        {"caps", OPT_CAPS, required_argument, "AERO_CAPS", set_caps, "LIST",
         "the capabilities the experiment keeps, such as cap_net_bind_service,cap_sys_ptrace "
         "(default: none, also for root); the bounding set is reduced to them"},
        {"hermetic", OPT_HERMETIC, no_argument, "AERO_HERMETIC", set_hermetic, NULL,
         "deny the experiment network sockets and io_uring with seccomp (unix sockets stay); "
         "declared inputs come through 'aero-init artifact get' (AERO_HERMETIC=1)"},
        {"allow-new-privs", OPT_ALLOW_NEW_PRIVS, no_argument, "AERO_ALLOW_NEW_PRIVS",
         set_allow_new_privs, NULL,
         "do not set no_new_privs for the experiment, so setuid programs such as sudo work "
         "(AERO_ALLOW_NEW_PRIVS=1)"},
        {"quiet", 'q', no_argument, NULL, NULL, NULL, "report errors only"},
        {"build-info", OPT_BUILD_INFO, no_argument, NULL, NULL, NULL,
         "print the version and the libraries built in, as JSON"},
        {"version", 'V', no_argument, NULL, NULL, NULL, "print the version and exit"},
        {"help", 'h', no_argument, NULL, NULL, NULL, "print this help and exit"},
};

#define SETTING_COUNT (sizeof(settings) / sizeof(settings[0]))

static void set_defaults(struct aero_init_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->action = AERO_INIT_RUN;
	opts->grace_ms = AERO_DEFAULT_GRACE_MS;
	opts->verbosity = AERO_LOG_WARN;
	opts->capture = true;
	opts->console = true;
	opts->record = true;
	opts->tracker_interval_ms = AERO_DEFAULT_TRACKER_INTERVAL_MS;
	opts->tracker_timeout_ms = AERO_DEFAULT_TRACKER_TIMEOUT_MS;
	opts->system_interval_ms = AERO_DEFAULT_SYSTEM_INTERVAL_MS;
	for (int sig = 0; sig < AERO_SIGNAL_LIMIT; sig++)
		opts->rewrite[sig] = sig;
}

static int apply_environment(struct aero_init_options *opts)
{
	for (size_t i = 0; i < SETTING_COUNT; i++) {
		if (settings[i].env == NULL)
			continue;
		const char *value = getenv(settings[i].env);
		if (value == NULL || *value == '\0')
			continue;
		if (settings[i].apply(opts, value, settings[i].env) < 0)
			return -1;
	}
	return 0;
}

static const struct setting *find_short(int short_name)
{
	for (size_t i = 0; i < SETTING_COUNT; i++)
		if (settings[i].short_name == short_name)
			return &settings[i];
	return NULL;
}

static int apply_option(struct aero_init_options *opts, int short_name, const char *arg)
{
	switch (short_name) {
	case 'v':
		if (opts->verbosity < AERO_LOG_DEBUG)
			opts->verbosity++;
		return 0;
	case 'q':
		opts->verbosity = AERO_LOG_ERROR;
		return 0;
	case 'h':
		opts->action = AERO_INIT_HELP;
		return 0;
	case 'V':
		opts->action = AERO_INIT_VERSION;
		return 0;
	case OPT_BUILD_INFO:
		opts->action = AERO_INIT_BUILD_INFO;
		return 0;
	default:
		break;
	}
	const struct setting *setting = find_short(short_name);
	if (setting == NULL || setting->apply == NULL)
		return aero_error_set("unknown option");
	char source[64];
	(void)snprintf(source, sizeof(source), "--%s", setting->long_name);
	return setting->apply(opts, arg, source);
}

int aero_init_options_parse(struct aero_init_options *opts, int argc, char **argv)
{
	set_defaults(opts);
	if (apply_environment(opts) < 0)
		return -1;

	struct option long_options[SETTING_COUNT + 1];
	char short_options[2 * SETTING_COUNT + 3] = "+:";
	size_t short_len = 2;
	for (size_t i = 0; i < SETTING_COUNT; i++) {
		long_options[i] = (struct option){settings[i].long_name, settings[i].has_arg, NULL,
		                                  settings[i].short_name};
		if (settings[i].short_name < 256) {
			short_options[short_len++] = (char)settings[i].short_name;
			if (settings[i].has_arg == required_argument)
				short_options[short_len++] = ':';
		}
	}
	long_options[SETTING_COUNT] = (struct option){NULL, 0, NULL, 0};
	short_options[short_len] = '\0';

	optind = 0; /* glibc: 0 also resets its internal state, so parsing can repeat */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		if (c == '?') {
			if (optopt != 0)
				return aero_error_set("unknown option '-%c'", optopt);
			return aero_error_set("unknown option '%.*s'",
			                      aero_arg_shown(argv[optind - 1]), argv[optind - 1]);
		}
		if (c == ':')
			return aero_error_set("option '%s' needs a value", argv[optind - 1]);
		if (apply_option(opts, c, optarg) < 0)
			return -1;
	}

	opts->command = argv + optind;
	if (opts->action == AERO_INIT_RUN && opts->command[0] == NULL)
		return aero_error_set(
		        "no command given; usage: aero-init [OPTIONS] -- COMMAND [ARGS...]");
	return 0;
}

/* Prints text as words wrapped to width, each line indented by indent. */
static void print_wrapped(FILE *out, const char *text, int indent, int width)
{
	int column = 0;
	while (*text != '\0') {
		const size_t word = strcspn(text, " ");
		if (column > indent && column + 1 + (int)word > width) {
			fputc('\n', out);
			column = 0;
		}
		if (column == 0)
			column = fprintf(out, "%*s", indent, "");
		else
			column += fprintf(out, " ");
		column += fprintf(out, "%.*s", (int)word, text);
		text += word;
		text += strspn(text, " ");
	}
	fputc('\n', out);
}

void aero_init_options_usage(FILE *out)
{
	fputs("Usage: aero-init [OPTIONS] -- COMMAND [ARGS...]\n"
	      "       aero-init capture [--root DIR] [-o FILE] [--env NAME]...\n"
	      "       aero-init diff [--json] A.json B.json\n"
	      "       aero-init log [--step N] [--summary | --config] KEY=VALUE...\n"
	      "       aero-init store put|get|head|ls|cat|rm URL [KEY] [FILE] [OPTIONS]\n"
	      "       aero-init sync [--tracker LIST] [--timeout DURATION] RUN_DIR\n"
	      "\n"
	      "Runs COMMAND as the experiment under a supervisor fit to be PID 1: it reaps\n"
	      "zombies, forwards signals to the experiment's process group, gives every\n"
	      "descendant a grace period to clean up when the experiment ends, and exits with\n"
	      "the experiment's status (128+N when it died of signal N).\n"
	      "\n"
	      "Options (each may also be set by the environment variable beside it):\n",
	      out);
	for (size_t i = 0; i < SETTING_COUNT; i++) {
		const struct setting *s = &settings[i];
		if (s->short_name < 256)
			fprintf(out, "  -%c, ", s->short_name);
		else
			fputs("      ", out);
		fprintf(out, "--%s%s%s", s->long_name, s->arg_name != NULL ? "=" : "",
		        s->arg_name != NULL ? s->arg_name : "");
		if (s->env != NULL)
			fprintf(out, "  (env %s)", s->env);
		fputc('\n', out);
		print_wrapped(out, s->help, 8, 79);
	}
	fputs("\n"
	      "Exit status: the experiment's; 125 when aero-init itself fails (bad option,\n"
	      "cannot start); 126 when COMMAND is not executable; 127 when it is not found;\n"
	      "74 when the run directory's disk stayed full and not all records were written.\n"
	      "See aero-init(1).\n",
	      out);
}
