/* `aero-launch artifact ls|show|get|put`: the artifacts in the blob store. */
#ifndef AERO_HOST_ARTIFACT_CMD_H
#define AERO_HOST_ARTIFACT_CMD_H

/* Runs `aero-launch artifact SUBCOMMAND ...` (argv[0] is "artifact"); the exit
 * status: 0, 2 usage, 74 internal, 76-80 (see aero-launch(1)). */
int aero_artifact_cmd(int argc, char **argv);

#endif
