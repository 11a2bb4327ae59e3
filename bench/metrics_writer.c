/* bench/metrics_writer: the experiment side of bench/metrics.py. Forks WRITERS
 * processes; each connects to AERO_SOCKET and sends RECORDS copies of one
 * pre-built log record, pipelined (it sends while it reads the answers, in
 * bulk, on one thread with poll), and checks that every answer is
 * {"ok":true}. Then prints the seconds from the first connection to the last
 * answer, and the peak RSS (VmHWM, KiB) of its parent, aero-init.
 *
 * With --vary, the records' numbers change from one record to the next, and
 * so do their lengths (as a float's shortest text does): loss and accuracy
 * with 17 significant digits, the epoch counting up. --print writes the
 * records to stdout instead (for the comparison with cat).
 *
 * Usage: metrics_writer [--vary] RECORDS WRITERS
 *        metrics_writer [--vary] --print RECORDS
 * Written in C so that the client is never what limits the measured rate. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char line[] =
        "{\"type\":\"log\",\"data\":{\"loss\":0.123456789,\"accuracy\":0.987654321,"
        "\"lr\":0.0003,\"epoch\":7}}\n";
static const char answer[] = "{\"ok\":true}\n";
#define LINE_LEN (sizeof(line) - 1)
#define ANSWER_LEN (sizeof(answer) - 1)
#define BLOCK_LINES 4096               /* lines per pre-built block */
#define VARY_LINE_MAX 160              /* a --vary line's longest */
#define RECV_SIZE ((size_t)256 * 1024) /* answers read per recv */

static void die(const char *what) __attribute__((noreturn));
static void die(const char *what)
{
	fprintf(stderr, "metrics_writer: %s: %s\n", what, strerror(errno));
	_exit(2);
}

static int connect_channel(void)
{
	const char *path = getenv("AERO_SOCKET");
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (path == NULL || strlen(path) >= sizeof(addr.sun_path)) {
		fputs("metrics_writer: AERO_SOCKET is unset or too long\n", stderr);
		_exit(2);
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("connect");
	return fd;
}

/* BLOCK_LINES records, one after another: the same record each time, or
 * (vary) records whose numbers change. *ends gets where each one ends. */
static char *make_block(int vary, size_t *len, size_t *ends)
{
	char *block = malloc((vary ? VARY_LINE_MAX : LINE_LEN) * BLOCK_LINES);
	if (block == NULL)
		die("malloc");
	size_t used = 0;
	unsigned long long x = 88172645463325252ULL; /* xorshift64, the same every run */
	for (size_t i = 0; i < BLOCK_LINES; i++) {
		if (!vary) {
			memcpy(block + used, line, LINE_LEN);
			used += LINE_LEN;
		} else {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			const double loss = (double)(x >> 11) / 9007199254740992.0;
			const int n = snprintf(block + used, VARY_LINE_MAX,
			                       "{\"type\":\"log\",\"data\":{\"loss\":%.17g,"
			                       "\"accuracy\":%.17g,\"lr\":0.0003,\"epoch\":%zu}}\n",
			                       loss, 1 - loss, i);
			if (n <= 0 || n >= VARY_LINE_MAX)
				die("snprintf");
			used += (size_t)n;
		}
		ends[i] = used;
	}
	*len = used;
	return block;
}

/* The bytes of the first `records` records of blocks of `block_len` bytes. */
static size_t bytes_of(size_t records, size_t block_len, const size_t *ends)
{
	return records / BLOCK_LINES * block_len +
	       (records % BLOCK_LINES > 0 ? ends[records % BLOCK_LINES - 1] : 0);
}

/* One writer: sends records lines, reads and checks records answers. */
static void write_records(size_t records, int vary)
{
	static size_t ends[BLOCK_LINES];
	size_t block_len = 0;
	char *block = make_block(vary, &block_len, ends);
	/* The answers expected, long enough to compare any recv at any offset. */
	char *expected = malloc(RECV_SIZE + ANSWER_LEN);
	char *got = malloc(RECV_SIZE);
	if (expected == NULL || got == NULL)
		die("malloc");
	for (size_t i = 0; i < RECV_SIZE + ANSWER_LEN; i++)
		expected[i] = answer[i % ANSWER_LEN];
	const int fd = connect_channel();
	const size_t to_send = bytes_of(records, block_len, ends), to_read = records * ANSWER_LEN;
	size_t sent = 0, received = 0;
	while (received < to_read) {
		struct pollfd p = {.fd = fd, .events = POLLIN | (sent < to_send ? POLLOUT : 0)};
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			die("poll");
		if (sent < to_send && (p.revents & POLLOUT)) {
			const size_t offset = sent % block_len;
			size_t len = block_len - offset;
			if (len > to_send - sent)
				len = to_send - sent;
			const ssize_t n = send(fd, block + offset, len, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				die("send");
			sent += n > 0 ? (size_t)n : 0;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			const ssize_t n = recv(fd, got, RECV_SIZE, 0);
			if (n == 0) {
				fputs("metrics_writer: aero-init closed the channel\n", stderr);
				_exit(1);
			}
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				die("recv");
			if (n > 0 &&
			    memcmp(got, expected + received % ANSWER_LEN, (size_t)n) != 0) {
				fputs("metrics_writer: a record was refused\n", stderr);
				_exit(1);
			}
			received += n > 0 ? (size_t)n : 0;
		}
	}
	close(fd);
	free(block);
	free(expected);
	free(got);
}

/* The parent's VmHWM line's number, in KiB; -1 when unknown. */
static long parent_peak_rss_kib(void)
{
	char path[64];
	(void)snprintf(path, sizeof(path), "/proc/%ld/status", (long)getppid());
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	char text[256];
	long kib = -1;
	while (fgets(text, sizeof(text), f) != NULL)
		if (strncmp(text, "VmHWM:", 6) == 0)
			kib = strtol(text + 6, NULL, 10);
	fclose(f);
	return kib;
}

/* --print: the records, as write_records would send them. */
static int print_records(size_t records, int vary)
{
	static size_t ends[BLOCK_LINES];
	size_t block_len = 0;
	char *block = make_block(vary, &block_len, ends);
	for (size_t left = bytes_of(records, block_len, ends); left > 0;) {
		const size_t n = left < block_len ? left : block_len;
		if (fwrite(block, 1, n, stdout) != n)
			die("fwrite");
		left -= n;
	}
	free(block);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const int vary = argc > 1 && strcmp(argv[1], "--vary") == 0;
	argv += vary;
	argc -= vary;
	if (argc == 3 && strcmp(argv[1], "--print") == 0)
		return print_records(strtoul(argv[2], NULL, 10), vary);
	if (argc != 3) {
		fputs("Usage: metrics_writer [--vary] RECORDS WRITERS\n"
		      "       metrics_writer [--vary] --print RECORDS\n",
		      stderr);
		return 2;
	}
	const size_t records = strtoul(argv[1], NULL, 10);
	const long writers = strtol(argv[2], NULL, 10);
	struct timespec began, ended;
	clock_gettime(CLOCK_MONOTONIC, &began);
	for (long i = 0; i < writers; i++) {
		const pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			write_records(records, vary);
			_exit(0);
		}
	}
	int failed = 0, status = 0;
	while (wait(&status) > 0)
		failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	clock_gettime(CLOCK_MONOTONIC, &ended);
	if (failed)
		return 1;
	printf("%.6f %ld\n",
	       (double)(ended.tv_sec - began.tv_sec) +
	               (double)(ended.tv_nsec - began.tv_nsec) / 1e9,
	       parent_peak_rss_kib());
	return 0;
}
