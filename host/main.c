/* aero-launch: the host side of Aeromancy. See aero-launch(1). main() only
 * dispatches to the commands, one file each. */
#include "artifact_cmd.h"
#include "cache_cmd.h"
#include "check_cmd.h"
#include "context_cmd.h"
#include "k8s_cmd.h"
#include "log.h"
#include "pipeline_cmd.h"
#include "push_cmd.h"
#include "redact.h"
#include "rerun_cmd.h"
#include "run_cmd.h"
#include "runs_cmd.h"
#include "status.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

struct command {
	const char *name;
	int (*main)(int argc, char **argv);
};

static const struct command commands[] = {
        {"run", aero_run_main},          {"check", aero_check_main},
        {"context", aero_context_main},  {"push", aero_push_cmd},
        {"k8s", aero_k8s_cmd},           {"runs", aero_runs_main},
        {"sync", aero_launch_sync_main}, {"artifact", aero_artifact_cmd},
        {"cache", aero_cache_cmd},       {"pipeline", aero_pipeline_cmd},
        {"rerun", aero_rerun_main},
};

static void usage(FILE *out)
{
	fputs("Usage: aero-launch [--help] [--version] COMMAND [ARGS...]\n"
	      "\n"
	      "Runs reproducible machine-learning experiments from a pristine Git commit, in a\n"
	      "container whose PID 1 is aero-init, and reads their records back.\n"
	      "\n"
	      "Commands:\n"
	      "  run            check the checkout, build its image and run a command in it\n"
	      "  check          make the Git checks and print the commit's facts as JSON\n"
	      "  context        write the build context of HEAD (a tar of the commit) to stdout\n"
	      "  push           push an image to a registry and record its digest\n"
	      "  k8s job        print a Kubernetes Job that runs an experiment in the image\n"
	      "  pipeline run   run a pipeline's tasks, skipping what is up to date\n"
	      "  pipeline graph print a pipeline file's tasks and what flows between them\n"
	      "  pipeline argo  print an Argo Workflow that runs a pipeline file's tasks\n"
	      "  runs ls|show|diff  list, show and compare the runs recorded here\n"
	      "  rerun          run a recorded run again and compare the two\n"
	      "  sync           deliver what a run's trackers do not have yet\n"
	      "  artifact ls|show|get|put  the versioned artifacts in the blob store\n"
	      "  cache gc       keep the local artifact cache within a size\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help     print this help and exit\n"
	      "  -V, --version  print the version and exit\n"
	      "\n"
	      "'aero-launch COMMAND --help' describes each command. See aero-launch(1).\n",
	      out);
}

int main(int argc, char **argv)
{
	aero_log_init("aero-launch", AERO_LOG_WARN);
	if (argc < 2) {
		usage(stderr);
		return AERO_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("aero-launch version %s\n", AERO_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	if (argv[1][0] == '-')
		aero_log_error("unknown option '%.*s'; see 'aero-launch --help'",
		               aero_arg_shown(argv[1]), argv[1]);
	else
		aero_log_error("unknown command '%s'; see 'aero-launch --help'", argv[1]);
	return AERO_EXIT_USAGE;
}
