/* Starting the experiment: a child with a clean signal state, in a session and
 * process group of its own, holding the terminal when there is one. */
#ifndef AERO_SHIM_EXPERIMENT_SPAWN_H
#define AERO_SHIM_EXPERIMENT_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

struct aero_spawned {
	pid_t pid;      /* the child, also the id of its process group */
	bool shell_tty; /* it shares the session and terminal of the shell that started
	                   aero-init, as the foreground group (else it has a session of its own) */
};

/* Descriptors the child gets as its stdout and stderr; -1 leaves aero-init's own. */
struct aero_spawn_stdio {
	int out;
	int err;
};

struct aero_privileges;

/* Forks and execs command (PATH searched) with stdio, and with privileges
 * applied first (privileges.h; NULL leaves aero-init's). On success fills
 * *child and returns 0. When exec fails, reaps the child, reports one line on
 * stderr and returns 126 or 127; other failures, privileges that could not be
 * applied among them, return AERO_EXIT_INTERNAL. Call with every signal blocked. */
int aero_spawn(char *const command[], const struct aero_spawn_stdio *stdio,
               const struct aero_privileges *privileges, struct aero_spawned *child);

/* The exit status for a failed exec with error err: 127 not found, else 126. */
int aero_spawn_exec_status(int err);

#endif
