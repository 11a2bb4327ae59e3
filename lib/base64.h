/* Base64 (RFC 4648), in the standard and the URL-safe alphabets, with padding. */
#ifndef AERO_BASE64_H
#define AERO_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* The encoding of count bytes, malloc'd and NUL-terminated; url_safe picks
 * '-' and '_' for '+' and '/'. NULL with aero_error set when out of memory. */
char *aero_base64_encode(const unsigned char *bytes, size_t count, bool url_safe);

/* Decodes text (either alphabet, padding optional) into a malloc'd buffer with a
 * NUL after its *count bytes. NULL with aero_error set when text is not base64. */
unsigned char *aero_base64_decode(const char *text, size_t *count);

#endif
