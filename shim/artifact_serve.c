/* Workers for artifact requests: posix_spawn of aero-init itself, so that the
 * worker starts from a clean process image (aero-init has threads) with
 * default signals and nothing blocked.
 *
 * Itself is /proc/self/exe, opened once and spawned as /proc/self/fd/N: the
 * same file as /proc/self/exe names, but reached through an open file, which
 * is also what lets valgrind follow the worker (under valgrind, /proc/self/exe
 * is valgrind's own program and opening it gives aero-init's). */
#include "artifact_serve.h"

#include "error.h"
#include "file.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* Arguments a request may carry: a put of many paths fits in a message. */
#define MAX_ARGS 4096

struct worker {
	pid_t pid;
	int client_fd;
};

struct aero_artifact_workers {
	char *run_dir;
	int self_fd;                                   /* /proc/self/exe, or -1 */
	char self_path[sizeof("/proc/self/fd/") + 11]; /* the program the workers run */
	struct worker *workers;
	size_t count, cap;
};

struct aero_artifact_workers *aero_artifact_workers_new(const char *run_dir)
{
	struct aero_artifact_workers *w = calloc(1, sizeof(*w));
	if (w != NULL && run_dir != NULL && (w->run_dir = strdup(run_dir)) == NULL) {
		free(w);
		return NULL;
	}
	if (w == NULL)
		return NULL;
	/* (Under valgrind the descriptor is one valgrind makes, without
	 * O_CLOEXEC, which valgrind's own exec of the worker needs.) */
	w->self_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
	if (w->self_fd >= 0)
		(void)snprintf(w->self_path, sizeof(w->self_path), "/proc/self/fd/%d", w->self_fd);
	else
		(void)snprintf(w->self_path, sizeof(w->self_path), "/proc/self/exe");
	return w;
}

/* The worker's command line: aero-init artifact ARGS, from the request. */
static char **worker_argv(const cJSON *args, const char **problem)
{
	const int count = cJSON_GetArraySize(args);
	if (!cJSON_IsArray(args) || count < 1 || count > MAX_ARGS) {
		*problem = "\"args\" must be a list of 1 to 4096 strings (get REF DIR, put NAME "
		           "PATH...)";
		return NULL;
	}
	char **argv = calloc((size_t)count + 3, sizeof(*argv));
	if (argv == NULL) {
		*problem = "out of memory";
		return NULL;
	}
	static char program[] = "aero-init", command[] = "artifact";
	argv[0] = program;
	argv[1] = command;
	int i = 2;
	const cJSON *arg;
	cJSON_ArrayForEach(arg, args)
	{
		if (!cJSON_IsString(arg)) {
			*problem = "\"args\" must be a list of strings";
			free(argv);
			return NULL;
		}
		argv[i++] = arg->valuestring;
	}
	return argv;
}

/* The worker's environment: aero-init's, with the run directory to record in,
 * the client's ids to act as, and no AERO_SOCKET (it does the work itself).
 * own[] gets the two strings made here, for the caller to free. */
static char **worker_env(const struct aero_artifact_workers *w, uid_t uid, gid_t gid, char *own[2])
{
	size_t count = 0;
	while (environ[count] != NULL)
		count++;
	char **env = calloc(count + 3, sizeof(*env));
	if (env == NULL)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < count; i++)
		if (strncmp(environ[i], "AERO_SOCKET=", 12) != 0 &&
		    strncmp(environ[i], "AERO_RUN_DIR=", 13) != 0 &&
		    strncmp(environ[i], "AERO_ARTIFACT_AS=", 17) != 0)
			env[n++] = environ[i];
	if (w->run_dir != NULL && asprintf(&own[0], "AERO_RUN_DIR=%s", w->run_dir) < 0)
		own[0] = NULL;
	if (asprintf(&own[1], "AERO_ARTIFACT_AS=%u:%u", (unsigned)uid, (unsigned)gid) < 0)
		own[1] = NULL;
	if ((w->run_dir != NULL && own[0] == NULL) || own[1] == NULL) {
		free(env);
		return NULL;
	}
	if (own[0] != NULL)
		env[n++] = own[0];
	env[n] = own[1];
	return env;
}

static int spawn_worker(const char *self, char **argv, char **env, const char *cwd, int out_fd,
                        int err_fd, pid_t *pid)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	if (posix_spawn_file_actions_init(&actions) != 0)
		return ENOMEM;
	int rc = posix_spawnattr_init(&attr);
	if (rc != 0) {
		posix_spawn_file_actions_destroy(&actions);
		return rc;
	}
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
	                                             POSIX_SPAWN_SETPGROUP);
	if (rc == 0)
		rc = posix_spawnattr_setsigmask(&attr, &none);
	if (rc == 0)
		rc = posix_spawnattr_setsigdefault(&attr, &all);
	if (rc == 0)
		rc = posix_spawnattr_setpgroup(&attr, 0);
	if (rc == 0)
		rc = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY,
		                                      0);
	if (rc == 0)
		rc = out_fd >= 0 ? posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO)
		                 : posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
		                                                    "/dev/null", O_WRONLY, 0);
	if (rc == 0)
		rc = err_fd >= 0 ? posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO)
		                 : posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
		                                                    "/dev/null", O_WRONLY, 0);
	if (rc == 0 && cwd != NULL)
		rc = posix_spawn_file_actions_addchdir_np(&actions, cwd);
	if (rc == 0)
		rc = posix_spawn(pid, self, &actions, &attr, argv, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&actions);
	return rc;
}

const char *aero_artifact_workers_start(struct aero_artifact_workers *w, const cJSON *msg,
                                        int client_fd, int out_fd, int err_fd, uid_t uid, gid_t gid)
{
	const char *problem = NULL;
	const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(msg, "cwd");
	if (cwd != NULL && (!cJSON_IsString(cwd) || cwd->valuestring[0] != '/'))
		problem = "\"cwd\" must be an absolute path";
	char **argv = problem == NULL
	                      ? worker_argv(cJSON_GetObjectItemCaseSensitive(msg, "args"), &problem)
	                      : NULL;
	char *own[2] = {NULL, NULL};
	char **env = argv != NULL ? worker_env(w, uid, gid, own) : NULL;
	if (argv != NULL && env == NULL)
		problem = "out of memory";
	if (problem == NULL && w->count == w->cap) {
		const size_t cap = w->cap == 0 ? 4 : w->cap * 2;
		struct worker *bigger = realloc(w->workers, cap * sizeof(*bigger));
		if (bigger == NULL)
			problem = "out of memory";
		else {
			w->workers = bigger;
			w->cap = cap;
		}
	}
	pid_t pid = -1;
	if (problem == NULL) {
		const int rc =
		        spawn_worker(w->self_path, argv, env, cwd != NULL ? cwd->valuestring : NULL,
		                     out_fd, err_fd, &pid);
		if (rc != 0) {
			aero_error_set("cannot start the artifact worker: %s", strerror(rc));
			problem = aero_error_last();
		}
	}
	free(env);
	free(own[0]);
	free(own[1]);
	free(argv);
	if (out_fd >= 0)
		(void)close(out_fd);
	if (err_fd >= 0 && err_fd != out_fd)
		(void)close(err_fd);
	if (problem != NULL)
		return problem;
	aero_log_debug("artifact worker %d started", (int)pid);
	w->workers[w->count++] = (struct worker){.pid = pid, .client_fd = client_fd};
	return NULL;
}

bool aero_artifact_workers_reaped(struct aero_artifact_workers *w, pid_t pid, int wait_status)
{
	if (w == NULL)
		return false;
	for (size_t i = 0; i < w->count; i++) {
		if (w->workers[i].pid != pid)
			continue;
		const int status = WIFEXITED(wait_status)     ? WEXITSTATUS(wait_status)
		                   : WIFSIGNALED(wait_status) ? 128 + WTERMSIG(wait_status)
		                                              : 125;
		char answer[48];
		const int len = snprintf(answer, sizeof(answer), "{\"exit\":%d}\n", status);
		/* The client sent nothing more and waits for this line alone, so the
		 * socket has room; a client gone is no matter. */
		(void)send(w->workers[i].client_fd, answer, (size_t)len,
		           MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)close(w->workers[i].client_fd);
		w->workers[i] = w->workers[--w->count];
		aero_log_debug("artifact worker %d ended with status %d", (int)pid, status);
		return true;
	}
	return false;
}

size_t aero_artifact_workers_running(const struct aero_artifact_workers *w)
{
	return w == NULL ? 0 : w->count;
}

void aero_artifact_workers_free(struct aero_artifact_workers *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->count; i++)
		(void)close(w->workers[i].client_fd);
	if (w->self_fd >= 0)
		(void)close(w->self_fd);
	free(w->workers);
	free(w->run_dir);
	free(w);
}
