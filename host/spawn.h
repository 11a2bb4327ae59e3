/* Starting a program as a child of aero-launch and waiting for it. */
#ifndef AERO_HOST_SPAWN_H
#define AERO_HOST_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

/* Where a child's standard streams go, and its process group. */
struct aero_spawn_io {
	int out_fd, err_fd; /* its stdout and stderr when >= 0; else aero-launch's */
	int close_fd;       /* closed in the child when >= 0 */
	bool null_stdin;    /* stdin from /dev/null */
	bool own_group;     /* a process group of its own: the terminal's signals
	                     * reach it only through aero-launch */
};

/* Starts args[0] (searched on PATH) with args and environ, with the default
 * signal mask whatever aero-launch blocks for itself, and io's streams.
 * 0, or an errno value. */
int aero_spawn_io(char *const *args, const struct aero_spawn_io *io, pid_t *pid);

/* aero_spawn_io with stdout on out_fd when out_fd >= 0 and close_fd (when
 * >= 0) closed; the rest inherited. */
int aero_spawn(char *const *args, int out_fd, int close_fd, pid_t *pid);

/* Waits for pid: its exit status, or 128 + the signal that ended it. */
int aero_spawn_wait(pid_t pid);

/* This program's path, as /proc/self/exe names it (resolved, so that a tool
 * that runs aero-launch under it, such as valgrind, is not started instead);
 * malloc'd, or NULL with aero_error set. */
char *aero_self_path(void);

#endif
