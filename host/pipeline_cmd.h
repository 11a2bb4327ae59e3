/* aero-launch pipeline: the commands on pipeline files (doc/pipelines.md). */
#ifndef AERO_HOST_PIPELINE_CMD_H
#define AERO_HOST_PIPELINE_CMD_H

/* Runs `aero-launch pipeline SUBCOMMAND ...` (argv[0] is "pipeline"); the exit status. */
int aero_pipeline_main(int argc, char **argv);

#endif
