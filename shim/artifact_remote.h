/* `aero-init artifact ...` inside a run: the request goes to aero-init over
 * AERO_SOCKET, which does the transfer outside whatever confines the
 * experiment and writes to this process's own stdout and stderr (passed
 * along with the request). See doc/channel.md. */
#ifndef AERO_SHIM_ARTIFACT_REMOTE_H
#define AERO_SHIM_ARTIFACT_REMOTE_H

/* Sends the artifact command args[0..count) to the aero-init listening on
 * socket_path and waits for its worker: the worker's exit status, or 125
 * with a message on stderr when the request could not be made. */
int aero_artifact_remote(const char *socket_path, int count, char *const args[]);

/* In a worker: takes on the requesting client's ids (AERO_ARTIFACT_AS=UID:GID)
 * when running as root for someone else, so that what it writes is the
 * client's. 0, or -1 with aero_error set. */
int aero_artifact_become_client(void);

#endif
