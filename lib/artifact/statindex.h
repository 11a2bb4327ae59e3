/* What is known about files' contents without reading them: a record per
 * inode, keyed by (st_dev, st_ino), of size, mtime and ctime -> SHA-256, in
 * CACHE/index/. A put skips hashing a file whose record still matches; a get
 * trusts a cached object whose record still matches. Like git's index, this
 * trusts (size, mtime, ctime): a change that keeps all three is not seen. */
#ifndef AERO_ARTIFACT_STATINDEX_H
#define AERO_ARTIFACT_STATINDEX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

/* Files smaller than this are neither looked up nor recorded: hashing a few
 * KiB from the page cache costs less than reading and writing a record. */
#define AERO_STATINDEX_MIN_SIZE ((int64_t)64 << 10)

/* The current time of the clock that file timestamps come from. */
struct timespec aero_statindex_now(void);

/* True when a record of st may be written after reading the file's bytes
 * that began at started (aero_statindex_now): the file's last change lies in
 * an earlier clock tick, so any later change gets a later ctime. */
bool aero_statindex_settled(const struct stat *st, struct timespec started);

/* Sleeps until the timestamp clock is past newest (at most one tick), so that
 * a change made after this returns gets a later ctime than any recorded. */
void aero_statindex_wait_past(struct timespec newest);

/* True, with the digest in sha256, when cache's record of st matches it. */
bool aero_statindex_lookup(const char *cache, const struct stat *st, char sha256[65]);

/* Records that the file of st has digest sha256; 0, or -1 with aero_error
 * (the caller may go on: a missing record only costs a rehash). */
int aero_statindex_record(const char *cache, const struct stat *st, const char sha256[65]);

/* Removes the record of st's inode, if there is one. */
void aero_statindex_forget(const char *cache, const struct stat *st);

#endif
