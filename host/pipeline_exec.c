/* Children of `aero-launch pipeline run`: each task is `aero-launch run` in a
 * process of its own, so a task's failure, its signals and its container
 * stay its own; the parent only schedules and prefixes output. */
#include "pipeline_exec.h"

#include "error.h"
#include "file.h"
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CAPTURE_MAX ((size_t)1 << 20)

/* A pipe whose ends close on exec (the child's end is dup2'd, which keeps it). */
static int make_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) == 0)
		return 0;
	return aero_error_set("cannot make a pipe: %s", strerror(errno));
}

int aero_task_spawn(char *const argv[], const char *prefix, bool stdout_to_stderr,
                    struct aero_task_proc *p)
{
	memset(p, 0, sizeof(*p));
	p->fd[0] = p->fd[1] = -1;
	p->prefix = prefix;
	p->stdout_to_stderr = stdout_to_stderr;
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	if (make_pipe(out) < 0 || make_pipe(err) < 0) {
		for (int i = 0; i < 2; i++)
			if (out[i] >= 0)
				close(out[i]);
		return -1;
	}
	(void)fflush(NULL);
	const struct aero_spawn_io io = {.out_fd = out[1],
	                                 .err_fd = err[1],
	                                 .close_fd = -1,
	                                 .null_stdin = true,
	                                 .own_group = true};
	const int e = aero_spawn_io(argv, &io, &p->pid);
	close(out[1]);
	close(err[1]);
	if (e != 0) {
		close(out[0]);
		close(err[0]);
		return aero_error_set("cannot start a task (%s): %s", argv[0], strerror(e));
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
	*status = aero_spawn_wait(p->pid);
	aero_buf_free(&p->part[0]);
	aero_buf_free(&p->part[1]);
}

int aero_task_capture(char *const argv[], char **out, int *status)
{
	*out = NULL;
	int fds[2];
	if (make_pipe(fds) < 0)
		return -1;
	(void)fflush(NULL);
	const struct aero_spawn_io io = {
	        .out_fd = fds[1], .err_fd = -1, .close_fd = -1, .null_stdin = true};
	pid_t pid = 0;
	const int e = aero_spawn_io(argv, &io, &pid);
	close(fds[1]);
	if (e != 0) {
		close(fds[0]);
		return aero_error_set("cannot start %s: %s", argv[0], strerror(e));
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
	*status = aero_spawn_wait(pid);
	if (!fits || aero_buf_append(&buf, "", 0) < 0) {
		aero_buf_free(&buf);
		return aero_error_set("%s printed more than expected, or memory ran out", argv[0]);
	}
	while (buf.len > 0 && buf.data[buf.len - 1] == '\n')
		buf.data[--buf.len] = '\0';
	*out = buf.data;
	return 0;
}
