/* Streaming SHA-256 over a file. The low-level OpenSSL calls, for the reason
 * lib/sha256.c gives; they use the CPU's SHA extensions where it has them. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "digest.h"

#include "clock.h"
#include "error.h"
#include "hex.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Large enough that the syscalls cost little next to the hashing. */
#define DIGEST_CHUNK ((size_t)1 << 20)

static _Atomic uint64_t hashed_bytes;
static _Atomic uint64_t hashed_us;

/* The calling thread's CPU time: throughput per CPU second does not depend on
 * what else the machine runs. */
static double thread_cpu_seconds(void)
{
	struct timespec t;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) < 0)
		return aero_clock_now_seconds();
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int aero_digest_fd(int fd, const char *name, char hex[65], uint64_t *size)
{
	unsigned char *buf = malloc(DIGEST_CHUNK);
	if (buf == NULL)
		return aero_error_set("out of memory hashing %s", name);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	const double start = thread_cpu_seconds();
	SHA256_CTX ctx;
	SHA256_Init(&ctx);
	uint64_t done = 0;
	int rc = 0;
	for (;;) {
		const ssize_t n = pread(fd, buf, DIGEST_CHUNK, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = aero_error_set("cannot read %s: %s", name, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		SHA256_Update(&ctx, buf, (size_t)n);
		done += (uint64_t)n;
	}
	unsigned char digest[SHA256_DIGEST_LENGTH];
	SHA256_Final(digest, &ctx);
	free(buf);
	if (rc < 0)
		return rc;
	aero_hex_encode(digest, sizeof(digest), hex);
	*size = done;
	atomic_fetch_add(&hashed_bytes, done);
	atomic_fetch_add(&hashed_us, (uint64_t)((thread_cpu_seconds() - start) * 1e6));
	return 0;
}

void aero_digest_totals(uint64_t *bytes, double *seconds)
{
	*bytes = atomic_load(&hashed_bytes);
	*seconds = (double)atomic_load(&hashed_us) / 1e6;
}
