/* The metric channel (shim/channel.c) as an experiment drives it: the input
 * is sent on a connection to a real channel socket, then read and recorded
 * (aero_channel_drain) into a real spool, and the answers read back. Every
 * message type goes through the channel's own handling (log rows, summary
 * and config merges, tags, notes); artifact requests are refused by a stub
 * (support.c) rather than spawning a worker. */
#include "channel.h"

#include "error.h"
#include "log.h"
#include "spool.h"
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fresh run directories now and then, so that the spool's files stay small. */
#define INPUTS_PER_RUN 2000
/* The most sent at once: beyond what the socket holds the send would wait. */
#define INPUT_MAX ((size_t)64 * 1024)

static struct aero_spool *spool;
static struct aero_channel *channel;
static unsigned long inputs, runs;

static void open_run(void)
{
	if (channel != NULL) {
		aero_channel_close(channel);
		(void)aero_spool_close(spool);
		fuzz_remove_tree(fuzz_tmp_dir(), "run");
	}
	char *dir = NULL;
	if (asprintf(&dir, "%s/run", fuzz_tmp_dir()) < 0)
		abort();
	fuzz_write_file(fuzz_tmp_dir(), "run/.keep", "", 0);
	if (aero_spool_open(&spool, dir) < 0 || aero_channel_open(&channel, dir, spool, NULL) < 0) {
		fprintf(stderr, "fuzz_channel: %s\n", aero_error_last());
		abort();
	}
	free(dir);
	runs++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	aero_log_init("fuzz", -1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > INPUT_MAX)
		return 0;
	if (channel == NULL || inputs++ % INPUTS_PER_RUN == 0)
		open_run();
	const char *path = getenv("AERO_SOCKET");
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (path == NULL || strlen(path) >= sizeof(addr.sun_path))
		abort();
	memcpy(addr.sun_path, path, strlen(path) + 1);
	const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) < 0)
		abort();
	for (size_t sent = 0; sent < size;) {
		const ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
		if (n <= 0)
			abort();
		sent += (size_t)n;
	}
	(void)shutdown(fd, SHUT_WR);
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		abort();
	/* Serve and read answers until the channel hangs up on us. */
	char answers[4096];
	for (int turn = 0; turn < 10000; turn++) {
		aero_channel_drain(channel);
		ssize_t n;
		while ((n = recv(fd, answers, sizeof(answers), 0)) > 0)
			;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
	}
	close(fd);
	return 0;
}
