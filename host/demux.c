/* Docker's stream framing, undone. */
#include "demux.h"

#include "error.h"
#include "file.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void aero_demux_init(struct aero_demux *d, int out_fd, int err_fd)
{
	memset(d, 0, sizeof(*d));
	d->out_fd = out_fd;
	d->err_fd = err_fd;
	d->fd = -1;
}

int aero_demux_feed(struct aero_demux *d, const char *data, size_t len)
{
	while (len > 0) {
		if (d->remaining == 0) {
			const size_t want = sizeof(d->header) - d->header_len;
			const size_t n = len < want ? len : want;
			memcpy(d->header + d->header_len, data, n);
			d->header_len += n;
			data += n;
			len -= n;
			if (d->header_len < sizeof(d->header))
				return 0;
			d->header_len = 0;
			if (d->header[0] > 2 || d->header[1] != 0 || d->header[2] != 0 ||
			    d->header[3] != 0)
				return aero_error_set(
				        "the engine sent a log stream aero-launch cannot "
				        "read (a frame of stream %u)",
				        d->header[0]);
			d->fd = d->header[0] == 2 ? d->err_fd : d->out_fd;
			d->remaining = (uint32_t)d->header[4] << 24 | (uint32_t)d->header[5] << 16 |
			               (uint32_t)d->header[6] << 8 | (uint32_t)d->header[7];
			continue;
		}
		const size_t n = len < d->remaining ? len : d->remaining;
		/* A reader that left (EPIPE) stops nothing: the experiment goes on. */
		if (aero_write_all(d->fd, data, n) < 0 && errno != EPIPE)
			return aero_error_set("cannot write the container's output: %s",
			                      strerror(errno));
		d->remaining -= (uint32_t)n;
		data += n;
		len -= n;
	}
	return 0;
}
