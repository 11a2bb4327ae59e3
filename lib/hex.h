/* Bytes as lowercase hexadecimal. */
#ifndef AERO_HEX_H
#define AERO_HEX_H

#include <stddef.h>

/* Writes 2 * count hex digits and a NUL into out (2 * count + 1 bytes). */
void aero_hex_encode(const unsigned char *bytes, size_t count, char *out);

#endif
