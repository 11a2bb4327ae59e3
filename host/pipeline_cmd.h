/* aero-launch pipeline: what is done with a pipeline file (doc/pipelines.md). */
#ifndef AERO_HOST_PIPELINE_CMD_H
#define AERO_HOST_PIPELINE_CMD_H

/* Runs `aero-launch pipeline SUBCOMMAND ...` (argv[0] is "pipeline"); returns
 * the subcommand's exit status, 2 for a command line it cannot act on. */
int aero_pipeline_cmd(int argc, char **argv);

#endif
