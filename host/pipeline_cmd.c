/* `aero-launch pipeline run|graph|argo`: a table, as main.c's. */
#include "pipeline_cmd.h"

#include "log.h"
#include "pipeline_run.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} subcommands[] = {
        {"run", aero_pipeline_run_main},
};

static void usage(FILE *out)
{
	fputs("Usage: aero-launch pipeline run [OPTIONS] FILE\n"
	      "\n"
	      "Pipelines of tasks (doc/pipelines.md): each task a tracked run of its own,\n"
	      "what is up to date skipped.\n"
	      "\n"
	      "  run     run the tasks that are not up to date, in dependency order\n"
	      "\n"
	      "'aero-launch pipeline SUBCOMMAND --help' describes each.\n",
	      out);
}

int aero_pipeline_cmd(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; argc >= 2 && i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].main(argc - 1, argv + 1);
	if (argc >= 2)
		aero_log_error("pipeline: unknown subcommand '%s'", argv[1]);
	usage(stderr);
	return AERO_EXIT_USAGE;
}
