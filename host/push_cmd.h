/* aero-launch push: an image to a registry, its digest recorded for k8s job. */
#ifndef AERO_HOST_PUSH_CMD_H
#define AERO_HOST_PUSH_CMD_H

#include <stdio.h>

/* Runs `aero-launch push ...` (argv[0] is "push"); returns 0 when pushed, else
 * an aero_launch_status (status.h): 2 a command line or credentials
 * configuration it cannot act on, 68 no engine, 70 no such image, 72 denied. */
int aero_push_cmd(int argc, char **argv);

/* Prints the usage of `aero-launch push`. */
void aero_push_cmd_usage(FILE *out);

#endif
