/* bench/splice_copy: the least work a console recorder can do, for bench/console.sh.
 *
 * Usage: splice_copy FILE, with stdin and stdout pipes. Passes stdin on to
 * stdout with tee(2) and puts the same bytes, as they are, into FILE with
 * splice(2): no byte is copied into or out of user space, which is as little
 * work as recording the output can be. Like aero-init it grows both pipes to
 * 1 MiB, starts writeback every 8 MiB and syncs FILE at the end. What it
 * leaves out (a time stamp and a stream for each line) only adds to the cost. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PIPE_SIZE (1 << 20)
#define WRITEBACK_EVERY (8 << 20) /* as output.log's */

static int fail(const char *what)
{
	(void)fprintf(stderr, "splice_copy: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		(void)fprintf(stderr, "usage: splice_copy FILE (stdin and stdout pipes)\n");
		return 2;
	}
	const int file = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (file < 0)
		return fail(argv[1]);
	(void)fcntl(STDIN_FILENO, F_SETPIPE_SZ, PIPE_SIZE);
	(void)fcntl(STDOUT_FILENO, F_SETPIPE_SZ, PIPE_SIZE);
	size_t unsynced = 0;
	for (;;) {
		const ssize_t passed = tee(STDIN_FILENO, STDOUT_FILENO, PIPE_SIZE, 0);
		if (passed == 0)
			break;
		if (passed < 0)
			return fail("tee");
		for (ssize_t left = passed; left > 0;) {
			const ssize_t put = splice(STDIN_FILENO, NULL, file, NULL, (size_t)left, 0);
			if (put <= 0)
				return fail(argv[1]);
			left -= put;
		}
		unsynced += (size_t)passed;
		if (unsynced >= WRITEBACK_EVERY) {
			(void)sync_file_range(file, 0, 0, SYNC_FILE_RANGE_WRITE);
			unsynced = 0;
		}
	}
	if (fsync(file) < 0 || close(file) < 0)
		return fail(argv[1]);
	return 0;
}
