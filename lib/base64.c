#include "base64.h"

#include "error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char standard[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *aero_base64_encode(const unsigned char *bytes, size_t count, bool url_safe)
{
	const char *alphabet = url_safe ? url : standard;
	if (count > (SIZE_MAX - 1) / 4 * 3 - 2) {
		aero_error_set("out of memory");
		return NULL;
	}
	char *out = malloc((count + 2) / 3 * 4 + 1);
	if (out == NULL) {
		aero_error_set("out of memory");
		return NULL;
	}
	const char pad = '=';
	size_t o = 0;
	for (size_t i = 0; i < count; i += 3) {
		const uint32_t b0 = bytes[i];
		const uint32_t b1 = i + 1 < count ? bytes[i + 1] : 0;
		const uint32_t b2 = i + 2 < count ? bytes[i + 2] : 0;
		const uint32_t triple = (b0 << 16) | (b1 << 8) | b2;
		out[o++] = alphabet[(triple >> 18) & 63];
		out[o++] = alphabet[(triple >> 12) & 63];
		out[o++] = pad;
		out[o++] = pad;
		if (i + 1 < count)
			out[o - 2] = alphabet[(triple >> 6) & 63];
		if (i + 2 < count)
			out[o - 1] = alphabet[triple & 63];
	}
	out[o] = '\0';
	return out;
}

/* The value of one base64 digit in either alphabet, or -1. */
static int digit_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

unsigned char *aero_base64_decode(const char *text, size_t *count)
{
	size_t length = strlen(text);
	while (length > 0 && text[length - 1] == '=')
		length--;
	if (length % 4 == 1 || strlen(text) - length > 2) {
		aero_error_set("not base64: its length is wrong");
		return NULL;
	}
	unsigned char *out = malloc(length / 4 * 3 + 3);
	if (out == NULL) {
		aero_error_set("out of memory");
		return NULL;
	}
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < length; i++) {
		const int v = digit_value(text[i]);
		if (v < 0) {
			free(out);
			aero_error_set("not base64: '%c' at offset %zu", text[i], i);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*count = o;
	return out;
}
