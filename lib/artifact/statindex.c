/* The stat index: one small file per inode, CACHE/index/<ino % 256>/<dev>-<ino>,
 * holding "<sha256> <size> <mtime> <ctime>\n", rewritten in place with one
 * write(2) (a rename per record cost more than the rest of a cached get). A
 * record is used only when all of it, to the newline that ends the file,
 * matches the file's stat now, so whatever a reader may see - half a record,
 * none, or one writer's bytes over another's - is either a true record or no
 * match, which only costs a rehash. For the same reason records are not
 * fsynced. */
#include "statindex.h"

#include "error.h"
#include "runsdir.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "<64 hex> <size> <sec>.<nsec> <sec>.<nsec>\n" with 64-bit numbers. */
#define RECORD_MAX 160

struct timespec aero_statindex_now(void)
{
	struct timespec now;
	if (clock_gettime(CLOCK_REALTIME_COARSE, &now) < 0)
		(void)clock_gettime(CLOCK_REALTIME, &now);
	return now;
}

static int timespec_cmp(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? -1 : 1;
	if (a.tv_nsec != b.tv_nsec)
		return a.tv_nsec < b.tv_nsec ? -1 : 1;
	return 0;
}

bool aero_statindex_settled(const struct stat *st, struct timespec started)
{
	return timespec_cmp(st->st_ctim, started) < 0;
}

void aero_statindex_wait_past(struct timespec newest)
{
	/* A coarse tick is at most 10 ms (HZ=100); never wait longer than a few. */
	for (int i = 0; i < 50 && timespec_cmp(aero_statindex_now(), newest) <= 0; i++) {
		const struct timespec pause = {0, 1000000};
		(void)nanosleep(&pause, NULL);
	}
}

/* CACHE/index/<ino % 256>/<dev>-<ino>, malloc'd; *dir_len gets the length of
 * its directory part. */
static char *record_path(const char *cache, const struct stat *st, size_t *dir_len)
{
	const size_t len = strlen(cache) + 64;
	char *path = malloc(len);
	if (path == NULL)
		return NULL;
	const int n = snprintf(path, len, "%s/index/%02x", cache, (unsigned)(st->st_ino & 0xff));
	*dir_len = (size_t)n;
	(void)snprintf(path + n, len - (size_t)n, "/%" PRIxMAX "-%" PRIxMAX, (uintmax_t)st->st_dev,
	               (uintmax_t)st->st_ino);
	return path;
}

/* The text after the digest: what must match for a record to hold. */
static void record_tail(const struct stat *st, char *buf, size_t size)
{
	(void)snprintf(buf, size, " %" PRIdMAX " %" PRIdMAX ".%09ld %" PRIdMAX ".%09ld\n",
	               (intmax_t)st->st_size, (intmax_t)st->st_mtim.tv_sec,
	               (long)st->st_mtim.tv_nsec, (intmax_t)st->st_ctim.tv_sec,
	               (long)st->st_ctim.tv_nsec);
}

static bool is_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool aero_statindex_lookup(const char *cache, const struct stat *st, char sha256[65])
{
	if ((int64_t)st->st_size < AERO_STATINDEX_MIN_SIZE)
		return false;
	size_t dir_len;
	char *path = record_path(cache, st, &dir_len);
	const int fd = path != NULL ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	free(path);
	if (fd < 0)
		return false;
	char record[RECORD_MAX + 1];
	ssize_t n;
	do
		n = read(fd, record, RECORD_MAX);
	while (n < 0 && errno == EINTR);
	(void)close(fd);
	if (n <= 64)
		return false;
	record[n] = '\0';
	char tail[RECORD_MAX];
	record_tail(st, tail, sizeof(tail));
	if (!is_hex64(record) || strcmp(record + 64, tail) != 0)
		return false;
	memcpy(sha256, record, 64);
	sha256[64] = '\0';
	return true;
}

int aero_statindex_record(const char *cache, const struct stat *st, const char sha256[65])
{
	if ((int64_t)st->st_size < AERO_STATINDEX_MIN_SIZE)
		return 0;
	size_t dir_len;
	char *path = record_path(cache, st, &dir_len);
	if (path == NULL)
		return aero_error_set("out of memory");
	char record[RECORD_MAX];
	memcpy(record, sha256, 64);
	record_tail(st, record + 64, sizeof(record) - 64);
	const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW;
	int fd = open(path, flags, 0644);
	if (fd < 0 && errno == ENOENT) {
		path[dir_len] = '\0';
		(void)aero_mkdirs(path);
		path[dir_len] = '/';
		fd = open(path, flags, 0644);
	}
	int rc = fd < 0 ? aero_error_set("cannot write %s: %s", path, strerror(errno)) : 0;
	const size_t len = strlen(record);
	if (rc == 0 && write(fd, record, len) != (ssize_t)len)
		rc = aero_error_set("cannot write %s: %s", path, strerror(errno));
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = aero_error_set("cannot write %s: %s", path, strerror(errno));
	free(path);
	return rc;
}

void aero_statindex_forget(const char *cache, const struct stat *st)
{
	size_t dir_len;
	char *path = record_path(cache, st, &dir_len);
	if (path != NULL)
		(void)unlink(path);
	free(path);
}
