/* posix_spawn, so that nothing runs between fork and exec in aero-launch's
 * own address space. */
#include "spawn.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

int aero_spawn(char *const *args, int out_fd, int close_fd, pid_t *pid)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none;
	sigemptyset(&none);
	if (posix_spawn_file_actions_init(&actions) != 0)
		return ENOMEM;
	int rc = posix_spawnattr_init(&attr);
	if (rc == 0) {
		if (out_fd >= 0)
			rc = posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
		if (rc == 0 && close_fd >= 0)
			rc = posix_spawn_file_actions_addclose(&actions, close_fd);
		if (rc == 0)
			rc = posix_spawnattr_setsigmask(&attr, &none);
		if (rc == 0)
			rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
		if (rc == 0)
			rc = posix_spawnp(pid, args[0], &actions, &attr, args, environ);
		posix_spawnattr_destroy(&attr);
	}
	posix_spawn_file_actions_destroy(&actions);
	return rc;
}

int aero_spawn_wait(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 128;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
