/* Docker's multiplexed log stream (containers without a TTY): frames of an
 * 8-byte header [stream, 0, 0, 0, size as big-endian uint32] and a payload,
 * split anywhere across reads. */
#ifndef AERO_HOST_DEMUX_H
#define AERO_HOST_DEMUX_H

#include <stddef.h>
#include <stdint.h>

struct aero_demux {
	unsigned char header[8];
	size_t header_len;  /* header bytes read so far */
	uint32_t remaining; /* payload bytes left in the current frame */
	int fd;             /* where the current payload goes */
	int out_fd, err_fd; /* stdout's and stderr's destinations */
};

/* Starts a demultiplexer that writes stream 1 to out_fd and 2 to err_fd. */
void aero_demux_init(struct aero_demux *d, int out_fd, int err_fd);

/* Consumes len bytes of the stream. 0, or -1 with aero_error set when a
 * header is malformed or a write fails. */
int aero_demux_feed(struct aero_demux *d, const char *data, size_t len);

#endif
