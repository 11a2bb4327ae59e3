/* Cache objects: never "the file exists, so it is good". An object becomes an
 * entry only by rename(2) after its bytes were hashed and synced; a cached
 * object is used only when its stat record (statindex.h) still holds or its
 * bytes hash right. One download per object at a time: a flock on
 * CACHE/tmp/<hex>.lock, the only lock a thread ever holds, so none can wait
 * on another in a cycle. */
#include "cache.h"

#include "artifact_status.h"
#include "digest.h"
#include "error.h"
#include "file.h"
#include "log.h"
#include "runsdir.h"
#include "statindex.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Objects this large have their etag kept beside the partial download, so
 * that a resumed download can ask for the very same object (If-Match). */
#define RESUME_ETAG_MIN ((uint64_t)1 << 20)
/* A resumed download starts at a multiple of this (see resume_point). */
#define RESUME_ALIGN ((uint64_t)1 << 20)
/* transfer's answer when the object changed under a resumed download: not a
 * status, so that no status can be taken for it. */
#define TRANSFER_CHANGED 1
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

enum cached { CACHED_OK, CACHED_MISSING, CACHED_BAD };

char *aero_cache_object_path(const char *cache, const char sha256[65])
{
	const size_t len = strlen(cache) + sizeof("/objects/sha256/xx/") + 62;
	char *path = malloc(len);
	if (path != NULL)
		(void)snprintf(path, len, "%s/objects/sha256/%.2s/%s", cache, sha256, sha256 + 2);
	return path;
}

/* CACHE/tmp/<hex><suffix>, malloc'd. */
static char *tmp_path(const char *cache, const char sha256[65], const char *suffix)
{
	const size_t len = strlen(cache) + strlen(suffix) + 72;
	char *path = malloc(len);
	if (path != NULL)
		(void)snprintf(path, len, "%s/tmp/%s%s", cache, sha256, suffix);
	return path;
}

/* Whether the cached object at path is there and sound; a negative
 * aero_artifact_status when it cannot be read at all. */
static int check_cached(const struct aero_cache *cache, const char *path, const char sha256[65],
                        uint64_t size)
{
	const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return CACHED_MISSING;
	if (fd < 0 && errno == ELOOP)
		return aero_artifact_fail(CACHED_BAD, "cached object %s is a symbolic link", path);
	if (fd < 0)
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL,
		                          "cannot read the cached object %s: %s; check the cache's "
		                          "permissions (AERO_CACHE_DIR)",
		                          path, strerror(errno));
	struct stat st;
	char known[65];
	uint64_t hashed = 0;
	int rc = CACHED_OK;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
		rc = aero_artifact_fail(CACHED_BAD, "cached object %s is not a file of %llu bytes",
		                        path, (unsigned long long)size);
	else if (!cache->verify && aero_statindex_lookup(cache->dir, &st, known) &&
	         strcmp(known, sha256) == 0)
		rc = CACHED_OK;
	else if (aero_digest_fd(fd, path, known, &hashed) < 0)
		rc = AERO_ARTIFACT_INTERNAL;
	else if (hashed != size || strcmp(known, sha256) != 0)
		rc = aero_artifact_fail(CACHED_BAD,
		                        "cached object %s has bytes that hash to sha256:%s", path,
		                        known);
	(void)close(fd);
	return rc;
}

/* Takes the download lock of an object: a flock on a file that is still the
 * one at lock_path (a holder removes it before letting go, so a waiter that
 * got the old file tries again). The descriptor, or -1 with aero_error. */
static int lock_object(const char *lock_path)
{
	for (;;) {
		const int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return aero_error_set("cannot create %s: %s; check the cache's permissions "
			                      "(AERO_CACHE_DIR)",
			                      lock_path, strerror(errno));
		int rc;
		do
			rc = flock(fd, LOCK_EX);
		while (rc < 0 && errno == EINTR);
		struct stat held, now;
		if (rc == 0 && fstat(fd, &held) == 0 && stat(lock_path, &now) == 0 &&
		    held.st_dev == now.st_dev && held.st_ino == now.st_ino)
			return fd;
		const int err = errno;
		(void)close(fd);
		if (rc < 0)
			return aero_error_set("cannot lock %s: %s", lock_path, strerror(err));
	}
}

static void unlock_object(const char *lock_path, int fd)
{
	(void)unlink(lock_path);
	(void)close(fd);
}

/* The etag saved beside a partial download, or "" (etag has 160 bytes). */
static void read_etag(const char *etag_path, char *etag, size_t size)
{
	etag[0] = '\0';
	size_t len = 0;
	char *text = aero_file_read(etag_path, size - 1, &len);
	if (text != NULL && len > 0 && len < size && memchr(text, '\0', len) == NULL)
		memcpy(etag, text, len + 1);
	free(text);
}

struct download {
	struct aero_cache *cache;
	struct aero_store *store;
	const char *sha256;
	uint64_t size;
	char key[88];
	char *part_path, *etag_path;
	int fd;
	uint64_t have; /* bytes already in the partial download */
	char etag[160];
};

/* Starts the partial download over from nothing. */
static int restart(struct download *d)
{
	d->have = 0;
	d->etag[0] = '\0';
	(void)unlink(d->etag_path);
	if (ftruncate(d->fd, 0) < 0)
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "cannot truncate %s: %s",
		                          d->part_path, strerror(errno));
	return 0;
}

static int missing_object(const struct download *d)
{
	aero_error_set("object sha256:%s of the artifact is missing from %s (its manifest lists "
	               "it); the store was damaged: put the artifact again",
	               d->sha256, aero_store_url(d->store));
	return AERO_ARTIFACT_STORE;
}

static int store_error(const struct download *d, int rc)
{
	if (rc == AERO_STORE_NOT_FOUND)
		return missing_object(d);
	const int status = aero_artifact_status_of_store(rc);
	aero_error_set("cannot download object sha256:%s from %s: %s%s", d->sha256,
	               aero_store_url(d->store), aero_error_last(),
	               status == AERO_ARTIFACT_DENIED
	                       ? "; check the store's credentials or permissions"
	                       : "; try again (an interrupted download resumes)");
	return status;
}

/* Brings the partial download up to the whole object: 0, TRANSFER_CHANGED,
 * or a status. */
static int transfer(struct download *d)
{
	if (d->have == 0 && d->size >= RESUME_ETAG_MIN && d->etag[0] == '\0') {
		struct aero_store_stat st = {0};
		const int rc = aero_store_head(d->store, d->key, &st);
		if (rc != AERO_STORE_OK)
			return store_error(d, rc);
		memcpy(d->etag, st.etag, sizeof(d->etag));
		d->etag[sizeof(d->etag) - 1] = '\0';
		if (d->etag[0] != '\0' && aero_file_write_atomic(d->etag_path, d->etag) < 0)
			aero_log_debug("%s", aero_error_last()); /* only resuming needs it */
	}
	if (d->have >= d->size)
		return 0;
	const struct aero_store_progress progress = {aero_progress_advance, d->cache->progress};
	struct aero_store_stat st = {0};
	const int rc = aero_store_get_fd(d->store, d->key, d->fd, d->have,
	                                 d->etag[0] != '\0' ? d->etag : NULL, &st, &progress);
	if (rc != AERO_STORE_OK)
		return rc == AERO_STORE_CHANGED ? TRANSFER_CHANGED : store_error(d, rc);
	atomic_fetch_add(&d->cache->fetched_bytes, d->size - d->have);
	if (st.size != d->size) {
		aero_error_set("object sha256:%s in %s has %llu bytes, but the manifest says %llu: "
		               "the store was damaged or tampered with; put the artifact again",
		               d->sha256, aero_store_url(d->store), (unsigned long long)st.size,
		               (unsigned long long)d->size);
		return AERO_ARTIFACT_DIGEST;
	}
	return 0;
}

/* Whether the partial download is complete and right: 0, DIGEST, or INTERNAL. */
static int verify_part(const struct download *d)
{
	char got[65];
	uint64_t hashed = 0;
	if (aero_digest_fd(d->fd, d->part_path, got, &hashed) < 0)
		return AERO_ARTIFACT_INTERNAL;
	if (hashed == d->size && strcmp(got, d->sha256) == 0)
		return 0;
	aero_error_set("object sha256:%s downloaded from %s has bytes that hash to sha256:%s: "
	               "the store's copy is damaged or was tampered with; put the artifact again "
	               "from a good copy",
	               d->sha256, aero_store_url(d->store), got);
	return AERO_ARTIFACT_DIGEST;
}

/* Makes the verified partial download the cache entry at path. */
static int install(const struct download *d, const char *path)
{
	if (fsync(d->fd) < 0 || fchmod(d->fd, 0444) < 0)
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "cannot sync %s: %s",
		                          d->part_path, strerror(errno));
	int rc = rename(d->part_path, path);
	if (rc < 0 && errno == ENOENT) { /* the object's directory is new */
		char *dir = strdup(path);
		if (dir == NULL)
			return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
		*strrchr(dir, '/') = '\0';
		rc = aero_mkdirs(dir) < 0 ? -1 : rename(d->part_path, path);
		free(dir);
	}
	if (rc < 0)
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL,
		                          "cannot move %s into the cache: %s", d->part_path,
		                          strerror(errno));
	(void)unlink(d->etag_path);
	return 0;
}

/* Where an interrupted download can go on: the end of what was written from
 * byte 0 on without a gap. A backend may write ranges in parallel (pwrite), so
 * the file can have holes; and the block before a hole may be only partly
 * written (a range cut off mid-block, the rest of the block zeros), so the
 * download goes on a block earlier, at a MiB boundary. 0: start afresh. */
static uint64_t resume_point(int fd, const struct stat *st, uint64_t size)
{
	if (st->st_size <= 0 || (uint64_t)st->st_size > size)
		return 0;
	uint64_t have = (uint64_t)st->st_size;
	const off_t hole = lseek(fd, 0, SEEK_HOLE);
	if (hole >= 0 && (uint64_t)hole < have)
		have = (uint64_t)hole;
	if (have == size)
		return have; /* complete, but not yet moved into the cache */
	const uint64_t block = st->st_blksize > 0 ? (uint64_t)st->st_blksize : 4096;
	return have > block ? (have - block) & ~(RESUME_ALIGN - 1) : 0;
}

/* Downloads (or resumes) the object into the cache at path, holding its lock. */
static int download(struct download *d, const char *path)
{
	d->fd = open(d->part_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	struct stat st;
	if (d->fd < 0 || fstat(d->fd, &st) < 0)
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL,
		                          "cannot create %s: %s; check the cache's permissions "
		                          "(AERO_CACHE_DIR)",
		                          d->part_path, strerror(errno));
	int rc = 0;
	d->have = resume_point(d->fd, &st, d->size);
	bool resumed = d->have > 0;
	if (resumed && ftruncate(d->fd, (off_t)d->have) < 0)
		resumed = false;
	if (resumed) {
		read_etag(d->etag_path, d->etag, sizeof(d->etag));
		aero_progress_advance(d->cache->progress, d->have);
		aero_log_info("resuming the download of sha256:%.12s at byte %llu", d->sha256,
		              (unsigned long long)d->have);
	} else {
		rc = restart(d);
	}
	for (int attempt = 0; rc == 0 && attempt < 3; attempt++) {
		rc = d->size == 0 ? 0 : transfer(d);
		if (rc == TRANSFER_CHANGED || (rc == 0 && (rc = verify_part(d)) != 0 && resumed)) {
			aero_log_info("the partial download of sha256:%.12s %s; starting it over",
			              d->sha256,
			              rc == TRANSFER_CHANGED ? "is of a changed object"
			                                     : "did not verify");
			resumed = false;
			rc = restart(d);
			continue;
		}
		break;
	}
	if (rc == TRANSFER_CHANGED)
		rc = aero_artifact_fail(AERO_ARTIFACT_STORE,
		                        "object sha256:%s in %s kept changing while it was "
		                        "downloaded; try again",
		                        d->sha256, aero_store_url(d->store));
	if (rc == 0)
		rc = install(d, path);
	else if (rc == AERO_ARTIFACT_DIGEST) {
		(void)unlink(d->part_path); /* a bad download is not worth resuming */
		(void)unlink(d->etag_path);
	}
	(void)close(d->fd);
	return rc;
}

/* Takes the object's lock, checks the cache again (another process may have
 * fetched it meanwhile), and downloads it when it is still needed. */
static int fetch_locked(struct aero_cache *cache, struct aero_store *store, const char *sha256,
                        uint64_t size, const char *path)
{
	struct download d = {.cache = cache, .store = store, .sha256 = sha256, .size = size};
	(void)snprintf(d.key, sizeof(d.key), "objects/sha256/%.2s/%s", sha256, sha256 + 2);
	char *lock_path = tmp_path(cache->dir, sha256, ".lock");
	d.part_path = tmp_path(cache->dir, sha256, ".part");
	d.etag_path = tmp_path(cache->dir, sha256, ".etag");
	int rc = lock_path != NULL && d.part_path != NULL && d.etag_path != NULL
	                 ? 0
	                 : (aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory"));
	char *tmp_dir = rc == 0 ? aero_path_join(cache->dir, "tmp") : NULL;
	if (rc == 0 && (tmp_dir == NULL || aero_mkdirs(tmp_dir) < 0))
		rc = AERO_ARTIFACT_INTERNAL;
	free(tmp_dir);
	const int lock = rc == 0 ? lock_object(lock_path) : -1;
	if (rc == 0 && lock < 0)
		rc = AERO_ARTIFACT_INTERNAL;
	const int cached = rc == 0 ? check_cached(cache, path, sha256, size) : rc;
	if (cached == CACHED_OK) {
		atomic_fetch_add(&cache->cached_objects, 1);
		aero_progress_advance(cache->progress, size);
	} else if (cached == CACHED_MISSING || cached == CACHED_BAD) {
		struct stat bad;
		if (cached == CACHED_BAD && stat(path, &bad) == 0) {
			aero_statindex_forget(cache->dir, &bad);
			(void)unlink(path);
		}
		rc = download(&d, path);
		if (rc == 0)
			atomic_fetch_add(&cache->fetched_objects, 1);
	} else {
		rc = cached;
	}
	if (lock >= 0)
		unlock_object(lock_path, lock);
	free(lock_path);
	free(d.part_path);
	free(d.etag_path);
	return rc;
}

int aero_cache_object_get(struct aero_cache *cache, struct aero_store *store, const char sha256[65],
                          uint64_t size)
{
	if (size == 0 && strcmp(sha256, EMPTY_SHA256) != 0)
		return aero_artifact_fail(
		        AERO_ARTIFACT_DIGEST,
		        "the manifest says object sha256:%s is empty, but the empty "
		        "file's digest is sha256:" EMPTY_SHA256
		        ": the store was damaged or tampered with",
		        sha256);
	char *path = aero_cache_object_path(cache->dir, sha256);
	if (path == NULL)
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
	int rc = check_cached(cache, path, sha256, size);
	if (rc == CACHED_OK) {
		atomic_fetch_add(&cache->cached_objects, 1);
		aero_progress_advance(cache->progress, size);
	} else if (rc == CACHED_BAD) {
		aero_log_warn("%s; fetching it again", aero_error_last());
		rc = fetch_locked(cache, store, sha256, size, path);
	} else if (rc == CACHED_MISSING) {
		rc = fetch_locked(cache, store, sha256, size, path);
	}
	aero_progress_file_done(cache->progress);
	free(path);
	return rc;
}

int aero_cache_object_used(const char *cache, const char sha256[65], uint64_t size,
                           struct timespec *ctime)
{
	*ctime = (struct timespec){0, 0};
	char *path = aero_cache_object_path(cache, sha256);
	if (path == NULL)
		return aero_error_set("out of memory");
	/* The mtime says when an object was last used: gc evicts the oldest. */
	const struct timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	(void)utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
	struct stat st;
	int rc = 0;
	if ((int64_t)size < AERO_STATINDEX_MIN_SIZE)
		rc = 0; /* never recorded: hashed on every use */
	else if (stat(path, &st) < 0)
		rc = aero_error_set("cached object %s vanished while in use: %s", path,
		                    strerror(errno));
	else {
		*ctime = st.st_ctim;
		rc = aero_statindex_record(cache, &st, sha256);
	}
	free(path);
	return rc;
}
