#include "hex.h"

void aero_hex_encode(const unsigned char *bytes, size_t count, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < count; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	out[2 * count] = '\0';
}
