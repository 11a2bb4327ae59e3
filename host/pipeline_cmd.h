/* `aero-launch pipeline SUBCOMMAND`: the pipeline commands, one file each. */
#ifndef AERO_HOST_PIPELINE_CMD_H
#define AERO_HOST_PIPELINE_CMD_H

/* argv[0] is "pipeline"; dispatches to run, graph or argo. */
int aero_pipeline_cmd(int argc, char **argv);

#endif
