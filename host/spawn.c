/* posix_spawn, so that nothing runs between fork and exec in aero-launch's
 * own address space. */
#include "spawn.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int aero_spawn_io(char *const *args, const struct aero_spawn_io *io, pid_t *pid)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none;
	sigemptyset(&none);
	if (posix_spawn_file_actions_init(&actions) != 0)
		return ENOMEM;
	int rc = posix_spawnattr_init(&attr);
	if (rc == 0) {
		short flags = POSIX_SPAWN_SETSIGMASK;
		if (io->null_stdin)
			rc = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
			                                      O_RDONLY, 0);
		if (rc == 0 && io->out_fd >= 0)
			rc = posix_spawn_file_actions_adddup2(&actions, io->out_fd, STDOUT_FILENO);
		if (rc == 0 && io->err_fd >= 0)
			rc = posix_spawn_file_actions_adddup2(&actions, io->err_fd, STDERR_FILENO);
		if (rc == 0 && io->close_fd >= 0)
			rc = posix_spawn_file_actions_addclose(&actions, io->close_fd);
		if (rc == 0)
			rc = posix_spawnattr_setsigmask(&attr, &none);
		if (rc == 0 && io->own_group) {
			flags |= POSIX_SPAWN_SETPGROUP;
			rc = posix_spawnattr_setpgroup(&attr, 0);
		}
		if (rc == 0)
			rc = posix_spawnattr_setflags(&attr, flags);
		if (rc == 0)
			rc = posix_spawnp(pid, args[0], &actions, &attr, args, environ);
		posix_spawnattr_destroy(&attr);
	}
	posix_spawn_file_actions_destroy(&actions);
	return rc;
}

int aero_spawn(char *const *args, int out_fd, int close_fd, pid_t *pid)
{
	const struct aero_spawn_io io = {.out_fd = out_fd, .err_fd = -1, .close_fd = close_fd};
	return aero_spawn_io(args, &io, pid);
}

int aero_spawn_wait(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 128;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

char *aero_self_path(void)
{
	char *self = realpath("/proc/self/exe", NULL);
	if (self == NULL)
		aero_error_set("cannot find this program's own path (/proc/self/exe)");
	return self;
}
