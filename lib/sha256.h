/* SHA-256 of a few buffers, as lowercase hexadecimal. */
#ifndef AERO_SHA256_H
#define AERO_SHA256_H

#include <stddef.h>

/* Writes the SHA-256 of the concatenation of count buffers as 64 hex digits
 * and a NUL into hex. */
void aero_sha256_hex(const void *const parts[], const size_t lengths[], size_t count, char hex[65]);

#endif
