/* The s3:// backend's operations, shared between its files: s3.c (the
 * backend table, head, small reads, remove), s3_list.c (list, exists),
 * s3_put.c (single and multipart uploads) and s3_get.c (resumable, parallel
 * downloads). Each takes
 * the struct aero_s3 that open made and returns a store status. */
#ifndef AERO_STORE_S3_OPS_H
#define AERO_STORE_S3_OPS_H

#include "s3_http.h"
#include "store.h"

/* Whether key is one a store takes: the same rule as file://, so that stores
 * can move between backends (no empty, "." or ".." component, no leading or
 * trailing '/'). ERROR with aero_error set when not. */
int aero_s3_key_check(const char *key);

int aero_s3_head(void *state, const char *key, struct aero_store_stat *st);

int aero_s3_list(void *state, const char *prefix, aero_store_list_fn fn, void *ctx);

int aero_s3_exists(void *state, const char *const *keys, size_t n, bool *found);

/* How far before key a listing starts so that it lists key itself: key less
 * its last UTF-8 character (start-after must be UTF-8), or after, when that
 * is greater and still below key. malloc'd; NULL when out of memory. */
char *aero_s3_start_after(const char *key, const char *after);

int aero_s3_put_fd(void *state, const char *key, int fd, uint64_t size, const char *sha256,
                   unsigned flags, const struct aero_store_progress *progress);

int aero_s3_put_bytes(void *state, const char *key, const void *data, size_t len, unsigned flags);

int aero_s3_get_fd(void *state, const char *key, int fd, uint64_t offset, const char *if_match,
                   struct aero_store_stat *st, const struct aero_store_progress *progress);

#endif
