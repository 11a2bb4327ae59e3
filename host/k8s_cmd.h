/* aero-launch k8s: Kubernetes manifests for experiments. */
#ifndef AERO_HOST_K8S_CMD_H
#define AERO_HOST_K8S_CMD_H

#include <stdio.h>

/* Runs `aero-launch k8s ...` (argv[0] is "k8s"); returns the exit status:
 * 0 with the manifest on stdout, 2 for a command line it cannot act on, 1 otherwise. */
int aero_k8s_cmd(int argc, char **argv);

/* Prints the options of `aero-launch k8s job`. */
void aero_k8s_cmd_usage(FILE *out);

#endif
