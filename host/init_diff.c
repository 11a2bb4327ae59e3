/* aero-init diff as a child process: aero-launch has no comparison of its own,
 * so `runs diff` and `rerun` explain differences in the same words. */
#include "init_diff.h"

#include "init_path.h"
#include "log.h"
#include "spawn.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The diff's JSON is a fraction of the manifests' size; they are bounded too. */
#define OUTPUT_MAX ((size_t)256 << 20)

/* Reads fd to its end into *out (malloc'd, NUL-terminated). 0, or -1. */
static int read_all(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	while (buf != NULL) {
		if (cap - len < 2) {
			char *grown = cap < OUTPUT_MAX ? realloc(buf, cap * 2) : NULL;
			if (grown == NULL)
				break;
			buf = grown;
			cap *= 2;
		}
		const ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (n == 0) {
			buf[len] = '\0';
			*out = buf;
			return 0;
		}
		len += (size_t)n;
	}
	free(buf);
	return -1;
}

int aero_init_diff(const char *a, const char *b, const char *const *ignore, char **json)
{
	if (json != NULL)
		*json = NULL;
	size_t ignored = 0;
	while (ignore != NULL && ignore[ignored] != NULL)
		ignored++;
	/* aero-init diff [--json] [--ignore PATH]... A B */
	char **args = calloc(2 * ignored + 6, sizeof(char *));
	char *init = aero_init_path(NULL);
	if (args == NULL || init == NULL) {
		free(args);
		free(init);
		aero_log_error("out of memory");
		return AERO_EXIT_INTERNAL;
	}
	size_t n = 0;
	args[n++] = init;
	args[n++] = (char *)"diff"; /* posix_spawn's argv predates const */
	if (json != NULL)
		args[n++] = (char *)"--json";
	for (size_t i = 0; i < ignored; i++) {
		args[n++] = (char *)"--ignore";
		args[n++] = (char *)ignore[i];
	}
	args[n++] = (char *)a;
	args[n++] = (char *)b;
	int fds[2] = {-1, -1};
	pid_t pid = -1;
	int rc = json != NULL && pipe2(fds, O_CLOEXEC) != 0 ? errno : 0;
	(void)fflush(stdout);
	if (rc == 0)
		rc = aero_spawn(args, fds[1], fds[0], &pid);
	if (fds[1] >= 0)
		close(fds[1]);
	int status = AERO_EXIT_INTERNAL;
	if (rc != 0) {
		aero_log_error("cannot run %s: %s; install aero-init beside aero-launch or on PATH",
		               init, strerror(rc));
	} else {
		const int read_rc = json != NULL ? read_all(fds[0], json) : 0;
		const int exit_status = aero_spawn_wait(pid);
		if (read_rc < 0)
			aero_log_error("cannot read what %s diff printed", init);
		else if (exit_status < 128)
			status = exit_status;
		else
			aero_log_error("%s diff was killed by signal %d", init, exit_status - 128);
		if (json != NULL && status != 0 && status != 1) {
			free(*json);
			*json = NULL;
		}
	}
	if (fds[0] >= 0)
		close(fds[0]);
	free(args);
	free(init);
	return status;
}
