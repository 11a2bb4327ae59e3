/* Children of `aero-launch pipeline run`: each task is `aero-launch run` in a
 * process of its own, so a task's failure, its signals and its container
 * stay its own; the parent only schedules and prefixes output. */
#include "pipeline_exec.h"

#include "error.h"
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CAPTURE_MAX ((size_t)1 << 20)

char *aero_self_path(void)
{
	char path[PATH_MAX];
	const ssize_t len = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (len <= 0 || (size_t)len >= sizeof(path) - 1) {
		aero_error_set("cannot find this program's own path (/proc/self/exe)");
		return NULL;
	}
	path[len] = '\0';
	char *copy = strdup(path);
	if (copy == NULL)
		aero_error_set("out of memory");
	return copy;
}

/* In the child: stdin from /dev/null, signals as the parent found them. */
static void child_setup(int out_fd, int err_fd, bool own_group)
{
	if (own_group)
		(void)setpgid(0, 0);
	const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 ||
	    (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0) ||
	    (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0))
		_exit(127);
	sigset_t none;
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
}

int aero_task_spawn(char *const argv[], const char *prefix, bool stdout_to_stderr,
                    struct aero_task_proc *p)
{
	memset(p, 0, sizeof(*p));
	p->fd[0] = p->fd[1] = -1;
	p->prefix = prefix;
	p->stdout_to_stderr = stdout_to_stderr;
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		const int e = errno;
		for (int i = 0; i < 2; i++) {
			if (out[i] >= 0)
				close(out[i]);
			if (err[i] >= 0)
				close(err[i]);
		}
		return aero_error_set("cannot make pipes: %s", strerror(e));
	}
	(void)fflush(NULL);
	p->pid = fork();
	if (p->pid == 0) {
		child_setup(out[1], err[1], true);
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	const int e = errno;
	close(out[1]);
	close(err[1]);
	if (p->pid < 0) {
		close(out[0]);
		close(err[0]);
		return aero_error_set("cannot start a task: %s", strerror(e));
	}
	p->fd[0] = out[0];
	p->fd[1] = err[0];
	return 0;
}

static void emit_line(FILE *stream, const char *prefix, const char *text, size_t len)
{
	(void)fputs(prefix, stream);
	(void)fwrite(text, 1, len, stream);
	(void)fputc('\n', stream);
}

/* Writes each whole line of buf after the prefix (all: the rest too); keeps
 * the rest. Bytes pass as they are, NULs included. */
static void emit_lines(struct aero_task_proc *p, int which, bool all)
{
	FILE *stream = which == 0 && !p->stdout_to_stderr ? stdout : stderr;
	struct aero_buf *b = &p->part[which];
	size_t start = 0;
	for (size_t i = 0; i < b->len; i++)
		if (b->data[i] == '\n') {
			emit_line(stream, p->prefix, b->data + start, i - start);
			start = i + 1;
		}
	if (all && start < b->len) {
		emit_line(stream, p->prefix, b->data + start, b->len - start);
		start = b->len;
	}
	if (b->data == NULL)
		return;
	(void)fflush(stream);
	memmove(b->data, b->data + start, b->len - start);
	b->len -= start;
}

bool aero_task_pump(struct aero_task_proc *p, int which)
{
	char chunk[16384];
	const ssize_t n = read(p->fd[which], chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return false;
	if (n > 0) {
		if (aero_buf_append(&p->part[which], chunk, (size_t)n) < 0) {
			emit_lines(p, which, true); /* out of memory: pass it through as is */
			(void)fwrite(chunk, 1, (size_t)n,
			             which == 0 && !p->stdout_to_stderr ? stdout : stderr);
		} else {
			emit_lines(p, which, p->part[which].len > 65536);
		}
		return false;
	}
	emit_lines(p, which, true);
	close(p->fd[which]);
	p->fd[which] = -1;
	return p->fd[0] < 0 && p->fd[1] < 0;
}

void aero_task_reap(struct aero_task_proc *p, int *status)
{
	for (int which = 0; which < 2; which++)
		while (p->fd[which] >= 0)
			(void)aero_task_pump(p, which);
	int raw = 0;
	while (waitpid(p->pid, &raw, 0) < 0 && errno == EINTR)
		;
	*status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
	aero_buf_free(&p->part[0]);
	aero_buf_free(&p->part[1]);
}

int aero_task_capture(char *const argv[], char **out, int *status)
{
	*out = NULL;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return aero_error_set("cannot make a pipe: %s", strerror(errno));
	(void)fflush(NULL);
	const pid_t pid = fork();
	if (pid == 0) {
		child_setup(fds[1], -1, false);
		execv(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return aero_error_set("cannot start %s: %s", argv[0], strerror(errno));
	}
	struct aero_buf buf = {0};
	char chunk[4096];
	ssize_t n;
	bool fits = true;
	while ((n = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		if (fits && (buf.len + (size_t)n > CAPTURE_MAX ||
		             aero_buf_append(&buf, chunk, (size_t)n) < 0))
			fits = false;
	}
	close(fds[0]);
	int raw = 0;
	while (waitpid(pid, &raw, 0) < 0 && errno == EINTR)
		;
	*status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
	if (!fits || aero_buf_append(&buf, "", 0) < 0) {
		aero_buf_free(&buf);
		return aero_error_set("%s printed more than expected, or memory ran out", argv[0]);
	}
	while (buf.len > 0 && buf.data[buf.len - 1] == '\n')
		buf.data[--buf.len] = '\0';
	*out = buf.data;
	return 0;
}
