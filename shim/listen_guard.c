#include "listen_guard.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

void aero_listen_guard_init(struct aero_listen_guard *guard)
{
	*guard = (struct aero_listen_guard){.spare_fd = -1};
	(void)aero_listen_guard_rearm(guard);
}

bool aero_listen_guard_rearm(struct aero_listen_guard *guard)
{
	if (guard->spare_fd < 0)
		guard->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return guard->spare_fd >= 0;
}

static void warn_once(struct aero_listen_guard *guard, int err)
{
	if (guard->told)
		return;
	guard->told = true;
	struct rlimit limit;
	char soft[24] = "?";
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
		(void)snprintf(soft, sizeof(soft), "%llu", (unsigned long long)limit.rlim_cur);
	if (err == ENFILE)
		aero_log_warn("the system is out of open files (ENFILE): connections to "
		              "AERO_SOCKET are refused until some close; close files, or raise "
		              "fs.file-max");
	else
		aero_log_warn(
		        "out of file descriptors (RLIMIT_NOFILE is %s): "
		        "connections to AERO_SOCKET are refused until some close; have the "
		        "experiment keep fewer open (one per process is enough), or raise the "
		        "limit (ulimit -n, docker run --ulimit nofile=N)",
		        soft);
}

bool aero_listen_guard_refuse(struct aero_listen_guard *guard, int listen_fd, int err,
                              const char *answer)
{
	if (err != EMFILE && err != ENFILE)
		return true;
	warn_once(guard, err);
	if (guard->spare_fd < 0)
		return false;
	(void)close(guard->spare_fd);
	guard->spare_fd = -1;
	const int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd >= 0) {
		/* The client may read this before it notices the close; a full
		 * buffer or a client gone changes nothing. */
		(void)send(fd, answer, strlen(answer), MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)close(fd);
		guard->refused++;
	}
	return aero_listen_guard_rearm(guard);
}

void aero_listen_guard_close(struct aero_listen_guard *guard, const char *what)
{
	if (guard->spare_fd >= 0)
		(void)close(guard->spare_fd);
	guard->spare_fd = -1;
	if (guard->refused > 0)
		aero_log_warn("%lu connections to %s were refused for lack of file descriptors",
		              guard->refused, what);
}
