/* aero-launch: the host side of Aeromancy. See aero-launch(1). */
#include "k8s_cmd.h"
#include "log.h"
#include "push_cmd.h"
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
	      "Commands:\n"
	      "  push       push an image to a registry and record its digest\n"
	      "  k8s job    print a Kubernetes Job that runs an experiment in the image\n"
	      "'run', 'runs', 'rerun', 'pipeline', 'artifact' and 'cache' come in later\n"
	      "versions. To run an experiment now, put aero-init in front of it:\n"
	      "aero-init -- COMMAND [ARGS...].\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help     print this help and exit\n"
	      "  -V, --version  print the version and exit\n"
	      "\n",
	      out);
	aero_push_cmd_usage(out);
	fputc('\n', out);
	aero_k8s_cmd_usage(out);
	fputs("\nSee aero-launch(1).\n", out);
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
	if (strcmp(argv[1], "k8s") == 0)
		return aero_k8s_cmd(argc - 1, argv + 1);
	if (strcmp(argv[1], "push") == 0)
		return aero_push_cmd(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		aero_log_error("unknown option '%s'; see 'aero-launch --help'", argv[1]);
	else
		aero_log_error("unknown command '%s': this version has 'push' and 'k8s' only; to "
		               "run an experiment, use 'aero-init -- COMMAND'",
		               argv[1]);
	return LAUNCH_EXIT_USAGE;
}
