/* aero-init log: the shell's client of the metric channel. VALUEs that read
 * as JSON numbers, true, false or null are sent as such; anything else is a
 * string. It returns once aero-init has written the record to disk. */
#include "log_cmd.h"

#include "channel_connect.h"

#include "error.h"
#include "log.h"
#include "options.h"
#include "parse.h"
#include "redact.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fputs("Usage: aero-init log [--step N] [--summary | --config] KEY=VALUE...\n"
	      "\n"
	      "Sends one record to the aero-init that runs this experiment (through\n"
	      "AERO_SOCKET) and waits until it is on disk: a history row by default, or\n"
	      "summary or configuration values. VALUE is sent as a number, true, false or\n"
	      "null when it reads as one, else as a string.\n"
	      "Exit status: 0 recorded, 1 refused (the reason on stderr), 125 bad input.\n",
	      out);
}

static cJSON *value_of(const char *text)
{
	cJSON *parsed = cJSON_Parse(text);
	if (parsed != NULL &&
	    (cJSON_IsNumber(parsed) || cJSON_IsBool(parsed) || cJSON_IsNull(parsed)))
		return parsed;
	cJSON_Delete(parsed);
	return cJSON_CreateString(text);
}

/* Sends line (with its newline) and reads the one-line answer into reply. */
static int exchange(const char *path, const char *line, char *reply, size_t size)
{
	const int fd = aero_channel_connect(path);
	if (fd < 0)
		return -1;
	int rc = 0;
	for (size_t done = 0, len = strlen(line); rc == 0 && done < len;) {
		const ssize_t n = send(fd, line + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = aero_error_set("cannot send to aero-init: %s", strerror(errno));
		else
			done += (size_t)n;
	}
	size_t used = 0;
	while (rc == 0 && used + 1 < size) {
		const ssize_t n = read(fd, reply + used, size - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
		if (memchr(reply, '\n', used) != NULL)
			break;
	}
	reply[used] = '\0';
	close(fd);
	if (rc == 0 && used == 0)
		rc = aero_error_set("aero-init closed the channel without an answer");
	return rc;
}

int aero_log_main(int argc, char **argv)
{
	static const struct option long_options[] = {{"step", required_argument, NULL, 's'},
	                                             {"summary", no_argument, NULL, 'S'},
	                                             {"config", no_argument, NULL, 'C'},
	                                             {"help", no_argument, NULL, 'h'},
	                                             {NULL, 0, NULL, 0}};
	const char *type = "log";
	long step = -1;
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+:s:h", long_options, NULL)) != -1) {
		if (c == 's' && aero_parse_int(optarg, 0, 9000000000000000L, &step) < 0) {
			aero_log_error("log: --step: %s", aero_error_last());
			return AERO_EXIT_INTERNAL;
		} else if (c == 'S' || c == 'C') {
			type = c == 'S' ? "summary" : "config";
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else if (c != 's') {
			aero_log_error("log: %s '%.*s'; see 'aero-init log --help'",
			               c == ':' ? "option needs a value:" : "unknown option",
			               aero_arg_shown(argv[optind - 1]), argv[optind - 1]);
			return AERO_EXIT_INTERNAL;
		}
	}
	if (optind == argc) {
		aero_log_error("log: nothing to record; usage: aero-init log KEY=VALUE...");
		return AERO_EXIT_INTERNAL;
	}
	const char *socket_path = getenv("AERO_SOCKET");
	if (socket_path == NULL || *socket_path == '\0') {
		aero_log_error("log: AERO_SOCKET is unset: run this under aero-init with a run "
		               "directory (--run-dir or AERO_RUN_DIR)");
		return AERO_EXIT_INTERNAL;
	}

	cJSON *msg = cJSON_CreateObject();
	cJSON *data = msg != NULL ? cJSON_AddObjectToObject(msg, "data") : NULL;
	int status = data != NULL && cJSON_AddStringToObject(msg, "type", type) != NULL
	                     ? 0
	                     : AERO_EXIT_INTERNAL;
	if (status == 0 && step >= 0 && cJSON_AddNumberToObject(msg, "step", (double)step) == NULL)
		status = AERO_EXIT_INTERNAL;
	for (int i = optind; status == 0 && i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (eq == NULL || eq == argv[i]) {
			aero_log_error("log: '%s' is not KEY=VALUE", argv[i]);
			status = AERO_EXIT_INTERNAL;
			break;
		}
		char *key = strndup(argv[i], (size_t)(eq - argv[i]));
		cJSON *value = value_of(eq + 1);
		if (key == NULL || value == NULL || !cJSON_AddItemToObject(data, key, value)) {
			cJSON_Delete(value);
			status = AERO_EXIT_INTERNAL;
		}
		free(key);
	}
	char *text = status == 0 ? cJSON_PrintUnformatted(msg) : NULL;
	cJSON_Delete(msg);
	if (text == NULL) {
		if (status == 0)
			aero_log_error("log: out of memory");
		return AERO_EXIT_INTERNAL;
	}
	const size_t len = strlen(text);
	char *line = realloc(text, len + 2);
	if (line == NULL) {
		free(text);
		return AERO_EXIT_INTERNAL;
	}
	memcpy(line + len, "\n", 2);
	char reply[4096];
	const int rc = exchange(socket_path, line, reply, sizeof(reply));
	free(line);
	if (rc < 0) {
		aero_log_error("log: %s", aero_error_last());
		return AERO_EXIT_INTERNAL;
	}
	cJSON *answer = cJSON_Parse(reply);
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(answer, "ok");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(answer, "error");
	status = cJSON_IsTrue(ok) ? 0 : 1;
	if (status != 0)
		aero_log_error("log: refused: %s", cJSON_IsString(error)
		                                           ? error->valuestring
		                                           : "no answer from aero-init");
	cJSON_Delete(answer);
	return status;
}
