/* Docker's multiplexed log stream (host/demux.c): any bytes, fed in pieces
 * whose sizes the input's first byte picks; every payload byte goes to one of
 * the two streams, and no more than was fed. */
#include "demux.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static int out = -1, err = -1;
	if (out < 0) {
		char path[] = "/tmp/aero-fuzz-demux.XXXXXX";
		out = mkstemp(path);
		err = out >= 0 ? dup(out) : -1;
		if (out < 0 || err < 0)
			abort();
		(void)unlink(path);
	}
	if (ftruncate(out, 0) < 0 || lseek(out, 0, SEEK_SET) < 0)
		abort();
	const size_t piece = (size_t)data[0] % 16 + 1;
	struct aero_demux d;
	aero_demux_init(&d, out, err);
	int rc = 0;
	for (size_t at = 1; rc == 0 && at < size; at += piece) {
		const size_t n = size - at < piece ? size - at : piece;
		char *copy = malloc(n);
		if (copy == NULL)
			abort();
		for (size_t i = 0; i < n; i++)
			copy[i] = (char)data[at + i];
		rc = aero_demux_feed(&d, copy, n);
		free(copy);
	}
	struct stat st;
	if (fstat(out, &st) < 0 || (size_t)st.st_size > size - 1)
		abort();
	return 0;
}
