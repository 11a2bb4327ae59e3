/* A listening socket out of file descriptors: accept(2) fails with EMFILE (or
 * ENFILE) and leaves the connection queued, so poll(2) reports the socket
 * ready again at once and the loop spins. The guard keeps one descriptor in
 * reserve to take such a connection off the queue, answer it with a refusal
 * and close it; it says so once, with the limit and the fix. */
#ifndef AERO_SHIM_LISTEN_GUARD_H
#define AERO_SHIM_LISTEN_GUARD_H

#include <stdbool.h>

struct aero_listen_guard {
	int spare_fd;          /* /dev/null, held in reserve; -1 when spent */
	unsigned long refused; /* connections turned away */
	bool told;             /* the warning was given */
};

/* Takes the reserve descriptor (where none can be had, the guard still
 * works, without one, until aero_listen_guard_rearm gets it). */
void aero_listen_guard_init(struct aero_listen_guard *guard);

/* accept(2) on listen_fd failed with err: when for lack of descriptors,
 * refuses one queued connection with the line answer (warning once) and
 * returns true when listen_fd may be polled again, false when it must wait
 * until aero_listen_guard_rearm succeeds. Other errors: true. */
bool aero_listen_guard_refuse(struct aero_listen_guard *guard, int listen_fd, int err,
                              const char *answer);

/* Takes the reserve descriptor again if it is spent; whether the guard has it. */
bool aero_listen_guard_rearm(struct aero_listen_guard *guard);

/* Gives the reserve descriptor back, and says how many were refused. */
void aero_listen_guard_close(struct aero_listen_guard *guard, const char *what);

#endif
