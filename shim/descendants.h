/* Finding and signalling every descendant of aero-init, not only its children:
 * needed to give workers a SIGTERM when the main process has already gone. */
#ifndef AERO_SHIM_DESCENDANTS_H
#define AERO_SHIM_DESCENDANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct aero_process {
	pid_t pid;
	pid_t ppid;
	bool descendant; /* set by aero_descendants_mark */
};

/* Marks every entry of table[] that descends from root (root itself excluded).
 * Sorts table by pid. Returns how many were marked. */
size_t aero_descendants_mark(struct aero_process *table, size_t count, pid_t root);

/* Sends sig to every descendant of this process: kill(-1) when PID 1, else
 * those found under /proc. Returns how many were signalled, or -1 on error. */
long aero_descendants_signal(int sig);

/* True when pid neither catches nor ignores sig (from /proc/PID/status). */
bool aero_process_has_default_action(pid_t pid, int sig);

#endif
