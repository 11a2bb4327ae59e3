/* Unit tests: undoing Docker's stream framing (host/demux.c), with frames
 * split at every possible place, as the engine's reads may split them. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../host/demux.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Appends one frame of stream with payload to buf; returns the new length. */
static size_t frame(unsigned char *buf, size_t at, int stream, const char *payload)
{
	const size_t n = strlen(payload);
	const unsigned char header[8] = {(unsigned char)stream,
	                                 0,
	                                 0,
	                                 0,
	                                 (unsigned char)(n >> 24),
	                                 (unsigned char)(n >> 16),
	                                 (unsigned char)(n >> 8),
	                                 (unsigned char)n};
	memcpy(buf + at, header, sizeof(header));
	memcpy(buf + at + sizeof(header), payload, n);
	return at + sizeof(header) + n;
}

/* Everything readable from a pipe's read end, NUL-terminated. */
static void drain(int fd, char *out, size_t size)
{
	size_t used = 0;
	ssize_t n;
	while (used + 1 < size && (n = read(fd, out + used, size - 1 - used)) > 0)
		used += (size_t)n;
	out[used] = '\0';
}

static void test_split_anywhere(void **state)
{
	(void)state;
	unsigned char stream[256];
	size_t len = frame(stream, 0, 1, "hello ");
	len = frame(stream, len, 2, "oops\n");
	len = frame(stream, len, 1, "");
	len = frame(stream, len, 1, "world\n");
	/* Every split point of the stream into two reads, and one byte at a time. */
	for (size_t cut = 0; cut <= len + 1; cut++) {
		int out[2], err[2];
		assert_int_equal(pipe(out), 0);
		assert_int_equal(pipe(err), 0);
		struct aero_demux d;
		aero_demux_init(&d, out[1], err[1]);
		if (cut <= len) {
			assert_int_equal(aero_demux_feed(&d, (const char *)stream, cut), 0);
			assert_int_equal(aero_demux_feed(&d, (const char *)stream + cut, len - cut),
			                 0);
		} else {
			for (size_t i = 0; i < len; i++)
				assert_int_equal(aero_demux_feed(&d, (const char *)stream + i, 1),
				                 0);
		}
		close(out[1]);
		close(err[1]);
		char got_out[64], got_err[64];
		drain(out[0], got_out, sizeof(got_out));
		drain(err[0], got_err, sizeof(got_err));
		close(out[0]);
		close(err[0]);
		assert_string_equal(got_out, "hello world\n");
		assert_string_equal(got_err, "oops\n");
	}
}

static void test_malformed_header_is_refused(void **state)
{
	(void)state;
	int out[2];
	assert_int_equal(pipe(out), 0);
	struct aero_demux d;
	aero_demux_init(&d, out[1], out[1]);
	const unsigned char bad_stream[8] = {3, 0, 0, 0, 0, 0, 0, 1};
	assert_int_equal(aero_demux_feed(&d, (const char *)bad_stream, sizeof(bad_stream)), -1);
	aero_demux_init(&d, out[1], out[1]);
	const unsigned char bad_padding[8] = {1, 0, 7, 0, 0, 0, 0, 1};
	assert_int_equal(aero_demux_feed(&d, (const char *)bad_padding, sizeof(bad_padding)), -1);
	close(out[0]);
	close(out[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_split_anywhere),
	                                   cmocka_unit_test(test_malformed_header_is_refused)};
	return cmocka_run_group_tests_name("demux", tests, NULL, NULL);
}
