/* Whole files: read at once, written atomically. */
#ifndef AERO_FILE_H
#define AERO_FILE_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Reads a whole file (at most max bytes), NUL-terminated, malloc'd; *len (when
 * not NULL) gets its length. NULL with aero_error set. */
char *aero_file_read(const char *path, size_t max, size_t *len);

/* Reads dir/name (at most max bytes) and parses it as JSON; NULL when it is
 * missing, unreadable or not JSON (aero_error says which, except for bad JSON). */
cJSON *aero_file_read_json(const char *dir, const char *name, size_t max);

/* Writes text to path through a temporary file, fsync and rename, so that
 * readers never see half of it and a failure (a full disk) leaves the
 * previous version as it was. 0, or -1 with aero_error set and errno saying why. */
int aero_file_write_atomic(const char *path, const char *text);

/* Writes all len bytes to fd, retrying after EINTR and short writes. 0, or -1
 * with errno set (EIO for a write that wrote nothing); no aero_error. */
int aero_write_all(int fd, const void *data, size_t len);

/* Writes len bytes to fd as far as it takes them, retrying after EINTR and
 * short writes: how many went. When not all, *error is the errno that
 * stopped it, or 0 for a write that wrote nothing (the caller names that). */
size_t aero_write_some(int fd, const void *data, size_t len, int *error);

#endif
