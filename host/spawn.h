/* Starting a program as a child of aero-launch and waiting for it. */
#ifndef AERO_HOST_SPAWN_H
#define AERO_HOST_SPAWN_H

#include <sys/types.h>

/* Starts args[0] (searched on PATH) with args and environ, with the default
 * signal mask whatever aero-launch blocks for itself, stdout on out_fd when
 * out_fd >= 0 and close_fd (when >= 0) closed. 0, or an errno value. */
int aero_spawn(char *const *args, int out_fd, int close_fd, pid_t *pid);

/* Waits for pid: its exit status, or 128 + the signal that ended it. */
int aero_spawn_wait(pid_t pid);

#endif
