/* Making bytes valid UTF-8 for records that must be text (the console log),
 * the way Python and browsers decode: one U+FFFD per maximal ill-formed
 * subsequence. */
#ifndef AERO_UTF8_H
#define AERO_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* The most bytes aero_utf8_sanitize writes for len bytes of input. */
#define AERO_UTF8_SANITIZED_MAX(len) (3 * (len))

/* Copies src (len bytes) to dst as valid UTF-8: each maximal ill-formed
 * subsequence and each NUL becomes U+FFFD; everything else, control characters
 * included, is kept. Returns the bytes written (at most AERO_UTF8_SANITIZED_MAX). */
size_t aero_utf8_sanitize(char *dst, const char *src, size_t len);

/* True when every byte of src is ASCII other than NUL, which is then valid
 * UTF-8 as it is (a fast test for whole buffers). */
bool aero_utf8_is_plain(const char *src, size_t len);

/* How many bytes at the end of src (0 to 3) start a character that more bytes
 * could still complete: where to cut a stream without splitting a character. */
size_t aero_utf8_incomplete_tail(const char *src, size_t len);

#endif
