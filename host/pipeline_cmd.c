/* aero-launch pipeline: a table of subcommands, one file each. Adding one is
 * an entry here. */
#include "pipeline_cmd.h"

#include "log.h"
#include "pipeline_argo_cmd.h"
#include "pipeline_graph.h"
#include "pipeline_run.h"
#include "redact.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
} subcommands[] = {
        {"run", aero_pipeline_run_main, "run the tasks that are not up to date, in order"},
        {"graph", aero_pipeline_graph_main, "print the tasks' graph: text, DOT or SVG"},
        {"argo", aero_pipeline_argo_cmd, "print an Argo Workflow that runs the pipeline"},
};
#define SUBCOMMAND_COUNT (sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *out)
{
	fputs("Usage: aero-launch pipeline SUBCOMMAND [OPTIONS] FILE\n"
	      "\n"
	      "Acts on a pipeline file: JSON tasks, the artifacts they take and make, and\n"
	      "the order that follows from them.\n"
	      "\n"
	      "Subcommands:\n",
	      out);
	for (size_t i = 0; i < SUBCOMMAND_COUNT; i++)
		fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fputs("\n'aero-launch pipeline SUBCOMMAND --help' describes each. See aero-launch(1).\n",
	      out);
}

int aero_pipeline_cmd(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return AERO_EXIT_OK;
	}
	for (size_t i = 0; argc >= 2 && i < SUBCOMMAND_COUNT; i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].main(argc - 1, argv + 1);
	if (argc < 2)
		aero_log_error("pipeline: the subcommand is missing; see 'aero-launch pipeline "
		               "--help'");
	else
		aero_log_error("pipeline: unknown subcommand '%.*s'; see 'aero-launch pipeline "
		               "--help'",
		               aero_arg_shown(argv[1]), argv[1]);
	return AERO_EXIT_USAGE;
}
