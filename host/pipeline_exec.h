/* The processes a pipeline runs: aero-launch itself, once per task, with its
 * output passed through line by line under the task's name (started by
 * spawn.c, as every child of aero-launch). */
#ifndef AERO_HOST_PIPELINE_EXEC_H
#define AERO_HOST_PIPELINE_EXEC_H

#include "engine.h"

#include <stdbool.h>
#include <sys/types.h>

/* One child: its pid and its stdout and stderr pipes (-1 once closed). */
struct aero_task_proc {
	pid_t pid;
	int fd[2];               /* stdout, stderr */
	struct aero_buf part[2]; /* what follows the last newline read */
	const char *prefix;      /* "[name] " */
	bool stdout_to_stderr;   /* keep this program's stdout for itself */
};

/* Starts argv[0] with argv, stdin from /dev/null, in a process group of its
 * own (signals reach it once, through the caller); its stdout is passed to
 * stderr when stdout_to_stderr. 0, or -1 with aero_error. */
int aero_task_spawn(char *const argv[], const char *prefix, bool stdout_to_stderr,
                    struct aero_task_proc *p);

/* Reads what fd (one of p's) has and writes its whole lines, each after the
 * prefix, to the matching stream; at end of file the rest too, and the fd is
 * closed. Returns whether p has no open pipe left. */
bool aero_task_pump(struct aero_task_proc *p, int which);

/* Waits for p to end (its pipes read to the end first); *status gets its exit
 * status, 128+N for signal N. Frees p's buffers. */
void aero_task_reap(struct aero_task_proc *p, int *status);

/* Runs argv and collects its stdout (at most 1 MiB, trailing newline
 * dropped) while its stderr passes through. 0 with *out malloc'd and
 * *status the exit status; -1 with aero_error when it could not run. */
int aero_task_capture(char *const argv[], char **out, int *status);

#endif
