/* `aero-init capture`: print the environment's manifest. */
#ifndef AERO_SHIM_CAPTURE_CMD_H
#define AERO_SHIM_CAPTURE_CMD_H

/* Runs the capture command with argv[0] == "capture"; returns the exit status. */
int aero_capture_main(int argc, char **argv);

#endif
