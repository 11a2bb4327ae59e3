/* aero-launch pipeline argo: an Argo Workflow for a pipeline file. */
#ifndef AERO_HOST_PIPELINE_ARGO_CMD_H
#define AERO_HOST_PIPELINE_ARGO_CMD_H

/* Runs `aero-launch pipeline argo [OPTIONS] FILE` (argv[0] is "argo"): 0 with
 * the Workflow on stdout, 2 for a command line or a pipeline file it cannot
 * act on, 74 for an internal or output error. */
int aero_pipeline_argo_cmd(int argc, char **argv);

#endif
