/* aero-launch pipeline SUBCOMMAND: a table of the pipeline commands, each in
 * its own file; adding one is one entry here and one line of usage. */
#include "pipeline_cmd.h"

#include "log.h"
#include "pipeline_graph.h"
#include "redact.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

struct subcommand {
	const char *name;
	int (*main)(int argc, char **argv);
};

static const struct subcommand subcommands[] = {
        {"graph", aero_pipeline_graph_main},
};

static void usage(FILE *out)
{
	fputs("Usage: aero-launch pipeline SUBCOMMAND [ARGS...]\n"
	      "\n"
	      "Commands on a pipeline file: tasks, the artifacts they take and make, and the\n"
	      "graph that follows from them (doc/pipelines.md).\n"
	      "\n"
	      "Subcommands:\n"
	      "  graph [--dot | --svg] FILE  print the tasks and what flows between them\n"
	      "\n"
	      "'aero-launch pipeline SUBCOMMAND --help' describes each.\n",
	      out);
}

int aero_pipeline_main(int argc, char **argv)
{
	if (argc < 2) {
		aero_log_error("pipeline: the subcommand is missing; see 'aero-launch pipeline "
		               "--help'");
		return AERO_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return AERO_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].main(argc - 1, argv + 1);
	aero_log_error("pipeline: unknown subcommand '%.*s'; see 'aero-launch pipeline --help'",
	               aero_arg_shown(argv[1]), argv[1]);
	return AERO_EXIT_USAGE;
}
