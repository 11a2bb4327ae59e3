/* Reading files of the captured tree: paths are relative to ctx->root. */
#ifndef AERO_CAPTURE_FILES_H
#define AERO_CAPTURE_FILES_H

#include "capture.h"
#include "file.h"

#include <stddef.h>

/* The path of `path` (absolute) inside the captured tree, malloc'd. */
char *aero_root_path(const struct aero_capture_ctx *ctx, const char *path);

/* Reads a whole file of the tree, NUL-terminated, at most max bytes, into a
 * malloc'd buffer; *len gets its length. NULL with aero_error set. */
char *aero_root_read(const struct aero_capture_ctx *ctx, const char *path, size_t max, size_t *len);

/* Maps a file of the tree read-only (for large files searched once, such as
 * libc.so.6); NULL with aero_error set. Release it with aero_root_unmap. */
const char *aero_root_map(const struct aero_capture_ctx *ctx, const char *path, size_t *len);

/* Releases a mapping made by aero_root_map. */
void aero_root_unmap(const char *data, size_t len);

/* Copies the text of one line (up to '\n' or the end) without surrounding
 * blanks, malloc'd; NULL when out of memory. */
char *aero_line_value(const char *start);

/* Adds a string or number member; -1 with aero_error set when out of memory. */
int aero_json_add_string(cJSON *object, const char *key, const char *value);
int aero_json_add_number(cJSON *object, const char *key, double value);

/* Appends a string to an array; -1 with aero_error set when out of memory. */
int aero_json_append_string(cJSON *array, const char *text);

/* Adds an object or array member and returns it; NULL when out of memory. */
cJSON *aero_json_add_object(cJSON *object, const char *key);
cJSON *aero_json_add_array(cJSON *object, const char *key);

/* Adds name: {"value": value, "source": source}, for settings that say who set them. */
int aero_json_add_setting(cJSON *object, const char *name, const char *value, const char *source);

/* Sorts an array of objects by the string members key1, then key2 (may be NULL). */
int aero_json_sort_array(cJSON *array, const char *key1, const char *key2);

#endif
