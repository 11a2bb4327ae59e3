/* aero-launch push: an image to a registry, its digest recorded for k8s job. */
#ifndef AERO_HOST_PUSH_CMD_H
#define AERO_HOST_PUSH_CMD_H

#include <stdio.h>

/* Exit status when the registry refused the credentials. */
#define AERO_PUSH_EXIT_DENIED 3

/* Runs `aero-launch push ...` (argv[0] is "push"); returns the exit status:
 * 0 pushed, 1 failed, 2 a command line it cannot act on, 3 access denied. */
int aero_push_cmd(int argc, char **argv);

/* Prints the usage of `aero-launch push`. */
void aero_push_cmd_usage(FILE *out);

#endif
