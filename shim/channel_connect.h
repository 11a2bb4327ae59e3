/* The client side of the metric channel: connecting to AERO_SOCKET, for
 * `aero-init log` and `aero-init artifact` inside a run. */
#ifndef AERO_SHIM_CHANNEL_CONNECT_H
#define AERO_SHIM_CHANNEL_CONNECT_H

/* A stream connection (close-on-exec) to the unix socket at path; -1 with
 * aero_error set ("cannot reach aero-init at PATH: REASON"). */
int aero_channel_connect(const char *path);

#endif
