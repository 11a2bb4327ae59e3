/* `aero-init artifact get|put`: artifacts from and to the blob store, from
 * inside the experiment's container (lib/artifact/artifact.h does the work). */
#ifndef AERO_SHIM_ARTIFACT_CMD_H
#define AERO_SHIM_ARTIFACT_CMD_H

/* Runs `aero-init artifact get|put ...` (argv[0] is "artifact"); returns the
 * exit status: 0, 76-80 (see aero-init(1)), 125 bad usage or internal error. */
int aero_artifact_main(int argc, char **argv);

#endif
