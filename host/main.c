/* aero-launch: the host side of Aeromancy. See aero-launch(1). At this stage
 * it knows no commands yet; they arrive with the launcher's own issue. */
#include "log.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

/* Exit status for a command line aero-launch cannot act on. */
#define LAUNCH_EXIT_USAGE 2

static void usage(FILE *out)
{
	fputs("Usage: aero-launch [--help] [--version] COMMAND [ARGS...]\n"
	      "\n"
	      "Runs reproducible machine-learning experiments from a pristine Git commit, in a\n"
	      "container whose PID 1 is aero-init, and reads their records back.\n"
	      "\n"
	      "This version has no commands yet: 'run', 'runs', 'rerun', 'pipeline',\n"
	      "'artifact' and 'cache' come in later versions. To run an experiment now, put\n"
	      "aero-init in front of it: aero-init -- COMMAND [ARGS...].\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help     print this help and exit\n"
	      "  -V, --version  print the version and exit\n"
	      "\n"
	      "See aero-launch(1).\n",
	      out);
}

int main(int argc, char **argv)
{
	aero_log_init("aero-launch", AERO_LOG_WARN);
	if (argc < 2) {
		usage(stderr);
		return LAUNCH_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("aero-launch version %s\n", AERO_VERSION);
		return 0;
	}
	if (argv[1][0] == '-')
		aero_log_error("unknown option '%s'; see 'aero-launch --help'", argv[1]);
	else
		aero_log_error("unknown command '%s': this version has no commands yet; to run an "
		               "experiment, use 'aero-init -- COMMAND'",
		               argv[1]);
	return LAUNCH_EXIT_USAGE;
}
