/* The blob store: one interface, one backend per file (file.c for file://DIR,
 * s3.c for s3://BUCKET/PREFIX). Keys are '/'-separated paths below the URL's
 * root, made of bytes other than NUL ("objects/sha256/ab/cdef...").
 *
 * A handle is used by one thread at a time; open one handle per thread for
 * parallel transfers. Every function returns an aero_store_status; for any
 * status other than OK, aero_error says what went wrong and what to do. */
#ifndef AERO_STORE_H
#define AERO_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum aero_store_status {
	AERO_STORE_OK = 0,
	AERO_STORE_ERROR = -1,     /* anything not below: I/O, network, server errors */
	AERO_STORE_NOT_FOUND = -2, /* no such key (404 NoSuchKey, ENOENT) */
	AERO_STORE_EXISTS = -3,    /* a write-once put found the key there (412) */
	AERO_STORE_DENIED = -4,    /* credentials missing or refused (401, 403) */
	AERO_STORE_CHANGED = -5,   /* a resumed get's If-Match failed: start again from 0 */
	AERO_STORE_NO_BUCKET = -6, /* the bucket or root directory does not exist */
};

/* Flags for the put functions. */
#define AERO_STORE_IF_ABSENT 0x1u /* write once: EXISTS when the key is there */

/* What head and get report about an object. */
struct aero_store_stat {
	uint64_t size;
	char etag[160]; /* opaque, for If-Match on a resumed get; "" when unknown */
};

/* Called as bytes move (from the calling thread), with the number moved since
 * the last call. May be NULL. */
struct aero_store_progress {
	void (*advance)(void *ctx, uint64_t bytes);
	void *ctx;
};

/* Called by list for each key below the prefix, in byte order of the keys; a
 * non-zero return stops the listing and becomes list's return value. */
typedef int (*aero_store_list_fn)(void *ctx, const char *key, uint64_t size);

/* What each backend implements; the scheme picks it from the URL. */
struct aero_store_backend {
	const char *scheme; /* "file", "s3" */
	/* Parses url ("s3://bucket/prefix") and reads its settings (AWS_* ...). */
	int (*open)(const char *url, void **state);
	/* Stores size bytes of fd (read with pread from 0) under key; sha256 is
	 * their hex digest (S3 signs it), or NULL when the caller does not know it. */
	int (*put_fd)(void *state, const char *key, int fd, uint64_t size, const char *sha256,
	              unsigned flags, const struct aero_store_progress *progress);
	/* Stores len bytes of data under key. */
	int (*put_bytes)(void *state, const char *key, const void *data, size_t len,
	                 unsigned flags);
	/* Writes the object's bytes from offset on into fd at file offset offset
	 * (pwrite); with if_match (an etag from an earlier get or head) the object
	 * must be unchanged, else CHANGED. *st gets the whole object's size, etag. */
	int (*get_fd)(void *state, const char *key, int fd, uint64_t offset, const char *if_match,
	              struct aero_store_stat *st, const struct aero_store_progress *progress);
	/* Reads a whole object of at most max bytes into malloc'd, NUL-terminated *data. */
	int (*get_bytes)(void *state, const char *key, size_t max, char **data, size_t *len);
	/* The object's size and etag. */
	int (*head)(void *state, const char *key, struct aero_store_stat *st);
	/* Every key that starts with prefix (a plain string prefix, "" for all). */
	int (*list)(void *state, const char *prefix, aero_store_list_fn fn, void *ctx);
	/* Sets found[i] to whether keys[i] is there, for n keys in any order
	 * (repeats allowed); never more requests than one head per key. */
	int (*exists)(void *state, const char *const *keys, size_t n, bool *found);
	/* Removes key (NOT_FOUND when absent). Only the cache and aborted uploads
	 * use it: stored objects are never overwritten. */
	int (*remove)(void *state, const char *key);
	void (*close)(void *state);
};

extern const struct aero_store_backend aero_store_file_backend;
extern const struct aero_store_backend aero_store_s3_backend;

struct aero_store;

/* Opens the store at url (file:///abs/dir, s3://bucket[/prefix]). */
int aero_store_open(const char *url, struct aero_store **out);

/* The store named by AERO_STORE, else file://$XDG_DATA_HOME/aeromancy/store
 * (~/.local/share/aeromancy/store). malloc'd; NULL when out of memory. */
char *aero_store_default_url(void);

/* The URL the store was opened with. */
const char *aero_store_url(const struct aero_store *store);

/* See struct aero_store_backend for each of these. */
int aero_store_put_fd(struct aero_store *store, const char *key, int fd, uint64_t size,
                      const char *sha256, unsigned flags,
                      const struct aero_store_progress *progress);
int aero_store_put_bytes(struct aero_store *store, const char *key, const void *data, size_t len,
                         unsigned flags);
int aero_store_get_fd(struct aero_store *store, const char *key, int fd, uint64_t offset,
                      const char *if_match, struct aero_store_stat *st,
                      const struct aero_store_progress *progress);
int aero_store_get_bytes(struct aero_store *store, const char *key, size_t max, char **data,
                         size_t *len);
int aero_store_head(struct aero_store *store, const char *key, struct aero_store_stat *st);
int aero_store_list(struct aero_store *store, const char *prefix, aero_store_list_fn fn, void *ctx);
/* Which of many keys the store has, at once: file:// asks for each in turn,
 * s3:// lists the keys' common prefix from just below each key not yet seen,
 * and heads the rest once listing pages stop paying (see doc/store.md). */
int aero_store_exists(struct aero_store *store, const char *const *keys, size_t n, bool *found);
int aero_store_remove(struct aero_store *store, const char *key);

/* Closes the handle (NULL is allowed). */
void aero_store_close(struct aero_store *store);

/* A short name for a status ("not found"), for messages. */
const char *aero_store_status_name(int status);

#endif
