/* The metric channel: a unix socket on which any descendant of aero-init
 * sends newline-delimited JSON records; each is written to the spool, then
 * acknowledged. See doc/channel.md. */
#ifndef AERO_SHIM_CHANNEL_H
#define AERO_SHIM_CHANNEL_H

#include "spool.h"

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The longest message accepted, newline excluded. */
#define AERO_CHANNEL_MAX_MESSAGE ((size_t)1024 * 1024)

struct aero_channel;

/* The experiment's user, when it is not aero-init's. */
struct aero_channel_peer {
	bool reaches_run_dir; /* it can search every directory down to run_dir */
	bool give;            /* the socket becomes uid:gid's (mode 0600) */
	uid_t uid;
	gid_t gid;
};

/* Listens on run_dir/aero.sock (or on a private directory under /tmp when that
 * path is too long for a socket, or out of peer's reach) and exports its path
 * as AERO_SOCKET. Records go to spool. peer NULL: the experiment runs as
 * aero-init does. 0, or -1 with aero_error set. */
int aero_channel_open(struct aero_channel **channel, const char *run_dir, struct aero_spool *spool,
                      const struct aero_channel_peer *peer);

/* Fills fds with what the channel waits on; returns how many (at most max). */
size_t aero_channel_poll_fds(const struct aero_channel *channel, struct pollfd *fds, size_t max);

/* Serves the fds that poll() reported, as filled by aero_channel_poll_fds. */
void aero_channel_dispatch(struct aero_channel *channel, const struct pollfd *fds, size_t count);

/* Reads and records what connected clients have sent already (at the end). */
void aero_channel_drain(struct aero_channel *channel);

/* CLOCK_MONOTONIC milliseconds at which aero_channel_retry has work (records
 * that wait for room on the disk), or 0 for never. */
int64_t aero_channel_due_ms(const struct aero_channel *channel);

/* When it is due, tries again to write the records that wait for room, and
 * then sends their answers and handles what their wait held up. */
void aero_channel_retry(struct aero_channel *channel);

/* Whether records wait for room on the disk. */
bool aero_channel_waiting(const struct aero_channel *channel);

/* How many connections still have records that were not read (at the end,
 * when the disk had no room for them). */
size_t aero_channel_unread(const struct aero_channel *channel);

/* How many messages were refused. */
unsigned long aero_channel_errors(const struct aero_channel *channel);

/* A child of aero-init ended: when it was an artifact worker, its client is
 * told and true returned. */
bool aero_channel_child_ended(struct aero_channel *channel, pid_t pid, int wait_status);

/* Closes every connection and the socket, and removes it. */
void aero_channel_close(struct aero_channel *channel);

#endif
