/* Connecting to aero-init's channel. */
#include "channel_connect.h"

#include "error.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int aero_channel_connect(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path))
		return aero_error_set("cannot reach aero-init at %s: too long for a socket path",
		                      path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0) {
		const int err = errno;
		if (fd >= 0)
			(void)close(fd);
		return aero_error_set("cannot reach aero-init at %s: %s", path, strerror(err));
	}
	return fd;
}
