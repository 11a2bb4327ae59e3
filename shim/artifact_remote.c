/* The client half of an artifact request over the channel. */
#include "artifact_remote.h"

#include "channel_connect.h"
#include "error.h"
#include "log.h"
#include "userdb.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define EXIT_REQUEST_FAILED 125
/* The answer is one short line; anything longer is not aero-init's. */
#define ANSWER_MAX 4096

static char *request_line(int count, char *const args[])
{
	cJSON *msg = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(msg, "args");
	char *cwd = getcwd(NULL, 0);
	bool ok = msg != NULL && list != NULL && cJSON_AddStringToObject(msg, "type", "artifact");
	for (int i = 0; ok && i < count; i++)
		ok = cJSON_AddItemToArray(list, cJSON_CreateString(args[i]));
	if (ok && cwd != NULL)
		ok = cJSON_AddStringToObject(msg, "cwd", cwd) != NULL;
	char *text = ok ? cJSON_PrintUnformatted(msg) : NULL;
	free(cwd);
	cJSON_Delete(msg);
	if (text == NULL)
		return NULL;
	const size_t len = strlen(text);
	char *line = realloc(text, len + 2);
	if (line == NULL) {
		free(text);
		return NULL;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	return line;
}

/* Sends line with our stdout and stderr attached to its first byte. */
static int send_request(int fd, const char *line)
{
	const int fds[2] = {STDOUT_FILENO, STDERR_FILENO};
	union {
		char bytes[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	size_t len = strlen(line);
	struct iovec iov = {.iov_base = (void *)line, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = control.bytes,
	                     .msg_controllen = sizeof(control.bytes)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	ssize_t n;
	while ((n = sendmsg(fd, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -1;
	for (size_t sent = (size_t)n; sent < len;) {
		const ssize_t more = send(fd, line + sent, len - sent, MSG_NOSIGNAL);
		if (more < 0 && errno == EINTR)
			continue;
		if (more <= 0)
			return -1;
		sent += (size_t)more;
	}
	return 0;
}

/* Reads the one answer line: {"exit":N}, or a refusal. */
static int read_answer(int fd)
{
	char answer[ANSWER_MAX + 1] = "";
	size_t len = 0;
	while (len < ANSWER_MAX && memchr(answer, '\n', len) == NULL) {
		const ssize_t n = read(fd, answer + len, ANSWER_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	answer[len] = '\0';
	cJSON *msg = cJSON_Parse(answer);
	const cJSON *exit_status = cJSON_GetObjectItemCaseSensitive(msg, "exit");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(msg, "error");
	int status = EXIT_REQUEST_FAILED;
	if (cJSON_IsNumber(exit_status) && exit_status->valueint >= 0 &&
	    exit_status->valueint < 256)
		status = exit_status->valueint;
	else if (cJSON_IsString(error))
		aero_log_error("artifact: aero-init refused the request: %s", error->valuestring);
	else
		aero_log_error("artifact: aero-init ended the request without an answer (did the "
		               "run end meanwhile?)");
	cJSON_Delete(msg);
	return status;
}

int aero_artifact_remote(const char *socket_path, int count, char *const args[])
{
	char *line = request_line(count, args);
	if (line == NULL) {
		aero_log_error("artifact: out of memory");
		return EXIT_REQUEST_FAILED;
	}
	const int fd = aero_channel_connect(socket_path);
	if (fd < 0) {
		aero_log_error(
		        "artifact: %s (AERO_SOCKET); is this process running under aero-init?",
		        aero_error_last());
		free(line);
		return EXIT_REQUEST_FAILED;
	}
	int status;
	if (send_request(fd, line) < 0) {
		aero_log_error("artifact: cannot send the request to aero-init: %s",
		               strerror(errno));
		status = EXIT_REQUEST_FAILED;
	} else {
		status = read_answer(fd);
	}
	(void)close(fd);
	free(line);
	return status;
}

int aero_artifact_become_client(void)
{
	const char *as = getenv("AERO_ARTIFACT_AS");
	if (as == NULL || geteuid() != 0)
		return 0;
	const char *colon = strchr(as, ':');
	unsigned uid = 0, gid = 0;
	if (colon == NULL || aero_id_parse(as, (size_t)(colon - as), &uid) < 0 ||
	    aero_id_parse(colon + 1, strlen(colon + 1), &gid) < 0)
		return aero_error_set("AERO_ARTIFACT_AS='%s' is not UID:GID", as);
	if (uid == 0)
		return 0;
	const gid_t groups[1] = {(gid_t)gid};
	if (setgroups(1, groups) < 0 || setgid((gid_t)gid) < 0 || setuid((uid_t)uid) < 0)
		return aero_error_set("cannot act as uid %u gid %u: %s", uid, gid, strerror(errno));
	return 0;
}
