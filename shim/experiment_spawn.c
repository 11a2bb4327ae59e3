#include "experiment_spawn.h"

#include "log.h"
#include "options.h"
#include "privileges.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* How the child is given the terminal on stdin, if any. */
enum tty_plan {
	TTY_NONE,       /* no terminal: a new session */
	TTY_HANDOVER,   /* aero-init leads the terminal's session (docker run -it): let go of
	                   it, the child takes it in a new session */
	TTY_ACQUIRE,    /* a terminal that no session holds: the child takes it */
	TTY_FOREGROUND, /* our shell's terminal: a new process group in the foreground */
};

static enum tty_plan plan_terminal(void)
{
	if (!isatty(STDIN_FILENO))
		return TTY_NONE;
	const pid_t tty_session = tcgetsid(STDIN_FILENO);
	if (tty_session < 0)
		return TTY_ACQUIRE;
	if (tty_session == getpid())
		return TTY_HANDOVER;
	if (tty_session == getsid(0))
		return TTY_FOREGROUND;
	return TTY_NONE; /* another session's terminal: leave it alone */
}

/* As session leader, detaching from the terminal sends SIGHUP and SIGCONT to
 * its foreground group, which is aero-init alone at this point. They are
 * blocked, so drain them rather than forward them to the experiment later. */
static void release_terminal(void)
{
	if (ioctl(STDIN_FILENO, TIOCNOTTY) < 0) {
		aero_log_debug("could not release the terminal: %s", strerror(errno));
		return;
	}
	sigset_t hangup;
	sigemptyset(&hangup);
	sigaddset(&hangup, SIGHUP);
	sigaddset(&hangup, SIGCONT);
	const struct timespec now = {0, 0};
	while (sigtimedwait(&hangup, NULL, &now) > 0)
		;
}

/* In the child, before exec: a session or group of its own and the terminal. */
static void isolate_child(enum tty_plan plan)
{
	switch (plan) {
	case TTY_FOREGROUND:
		/* SIGTTOU is still blocked here, so a background tcsetpgrp succeeds. */
		(void)setpgid(0, 0);
		(void)tcsetpgrp(STDIN_FILENO, getpid());
		break;
	case TTY_HANDOVER:
	case TTY_ACQUIRE:
		(void)setsid();
		(void)ioctl(STDIN_FILENO, TIOCSCTTY, 0);
		break;
	case TTY_NONE:
		(void)setsid();
		break;
	}
}

/* The kernel's struct sigaction. The C library's own sigaction() refuses the
 * signals it reserves for its threads (32 and 33), which the experiment must
 * not inherit ignored either, so the child asks the kernel directly. */
struct kernel_sigaction {
	/* cppcheck-suppress unusedStructMember */
	void (*handler)(int);
	/* cppcheck-suppress unusedStructMember */
	unsigned long flags;
	/* cppcheck-suppress unusedStructMember */
	void (*restorer)(void);
	uint64_t mask;
};

/* In the child: every disposition back to default, nothing blocked. */
static void restore_signals(void)
{
	const struct kernel_sigaction dfl = {.handler = SIG_DFL};
	for (int sig = 1; sig <= SIGRTMAX; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
	sigset_t none;
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

int aero_spawn_exec_status(int err)
{
	return err == ENOENT || err == ENOTDIR ? AERO_EXIT_NOT_FOUND : AERO_EXIT_NOT_EXECUTABLE;
}

static const char *exec_reason(const char *path, int err)
{
	struct stat st;
	if (err == ENOENT && strchr(path, '/') == NULL)
		return "command not found in PATH";
	if (err == EACCES && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return "is a directory";
	if (err == EACCES)
		return "permission denied (is it executable?)";
	return strerror(err);
}

/* In the child: the console pipes as stdout and stderr. dup2 clears their
 * close-on-exec flag; the pipes' own descriptors close at exec. */
static void redirect_stdio(const struct aero_spawn_stdio *stdio)
{
	if (stdio->out >= 0)
		(void)dup2(stdio->out, STDOUT_FILENO);
	if (stdio->err >= 0)
		(void)dup2(stdio->err, STDERR_FILENO);
}

/* What the child leaves for the parent when it fails (vfork shares memory):
 * errno, and the step of the privileges that failed, if it was one. */
struct child_failure {
	int error;
	enum aero_privileges_step step;
};

/* Everything the child needs, prepared by the parent. */
struct child_plan {
	char *const *command;
	enum tty_plan tty;
	const struct aero_spawn_stdio *stdio;
	const struct aero_privileges *privileges; /* NULL: aero-init's own */
	volatile struct child_failure *failure;
};

/* In the child, which shares aero-init's memory until exec (vfork): isolate
 * it, restore its signals, give it its privileges and exec; when that fails,
 * leave the reason in plan->failure for the parent, which vfork keeps waiting. */
static void __attribute__((noreturn)) run_child(const struct child_plan *plan)
{
	isolate_child(plan->tty);
	redirect_stdio(plan->stdio);
	restore_signals();
	if (plan->privileges != NULL) {
		const enum aero_privileges_step step = aero_privileges_apply(plan->privileges);
		if (step != AERO_PRIV_OK) {
			plan->failure->error = errno != 0 ? errno : EPERM;
			plan->failure->step = step;
			_exit(AERO_EXIT_INTERNAL);
		}
	}
	execvp(plan->command[0], plan->command);
	plan->failure->error = errno;
	_exit(aero_spawn_exec_status(errno));
}

/* vfork: no page tables to copy, and the parent resumes only once the child
 * has exec'd or failed to, so the outcome is known on return. Kept apart so
 * that nothing the parent uses later lives across the vfork. posix_spawn is
 * not enough: it cannot give the child a controlling terminal (TIOCSCTTY). */
static pid_t __attribute__((noinline)) start_child(const struct child_plan *plan)
{
	const pid_t pid = vfork(); /* NOLINT(clang-analyzer-security.insecureAPI.vfork) */
	if (pid == 0)
		run_child(plan); /* NOLINT(clang-analyzer-unix.Vfork) */
	return pid;
}

int aero_spawn(char *const command[], const struct aero_spawn_stdio *stdio,
               const struct aero_privileges *privileges, struct aero_spawned *child)
{
	const enum tty_plan plan = plan_terminal();
	if (plan == TTY_HANDOVER)
		release_terminal();

	volatile struct child_failure failure = {0, AERO_PRIV_OK};
	const struct child_plan child_plan = {command, plan, stdio, privileges, &failure};
	const pid_t pid = start_child(&child_plan);
	if (pid < 0) {
		aero_log_error("cannot start a process: %s", strerror(errno));
		return AERO_EXIT_INTERNAL;
	}
	const int err = failure.error;
	if (err != 0) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (failure.step != AERO_PRIV_OK) {
			aero_log_error("cannot start '%s': %s failed: %s (doc/security.md)",
			               command[0], aero_privileges_step_name(failure.step),
			               strerror(err));
			return AERO_EXIT_INTERNAL;
		}
		aero_log_error("cannot run '%s': %s", command[0], exec_reason(command[0], err));
		return aero_spawn_exec_status(err);
	}
	child->pid = pid;
	child->shell_tty = plan == TTY_FOREGROUND;
	return 0;
}
