#include "utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static const char replacement[3] = {'\xEF', '\xBF', '\xBD'}; /* U+FFFD */

/* The length of the character that lead byte b starts, and the range its
 * second byte must fall in (which rules out overlong forms, surrogates and
 * code points past U+10FFFF). 0 when b cannot start a character. */
static size_t lead_byte(unsigned char b, unsigned char *lo, unsigned char *hi)
{
	*lo = 0x80;
	*hi = 0xBF;
	if (b >= 0xC2 && b <= 0xDF)
		return 2;
	if (b == 0xE0)
		*lo = 0xA0;
	else if (b == 0xED)
		*hi = 0x9F;
	if (b >= 0xE0 && b <= 0xEF)
		return 3;
	if (b == 0xF0)
		*lo = 0x90;
	else if (b == 0xF4)
		*hi = 0x8F;
	return b >= 0xF0 && b <= 0xF4 ? 4 : 0;
}

/* The bytes from s that make one valid character (*valid), or else the
 * maximal subpart of an ill-formed one (at least 1 byte). */
static size_t scan_character(const unsigned char *s, size_t len, bool *valid)
{
	unsigned char lo, hi;
	const size_t need = lead_byte(s[0], &lo, &hi);
	*valid = false;
	if (need == 0)
		return 1;
	for (size_t i = 1; i < need; i++) {
		if (i >= len || s[i] < lo || s[i] > hi)
			return i;
		lo = 0x80;
		hi = 0xBF;
	}
	*valid = true;
	return need;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Bit 7 of each byte of the result is set where w has a byte that is NUL or
 * has its high bit set (and, harmlessly, maybe after such a byte). */
static uint64_t unplain_bytes(uint64_t w)
{
	return (w | ((w - ONES) & ~w)) & HIGHS;
}

/* True when none of the 8 bytes at s is NUL or has its high bit set. */
static bool plain_word(const char *s)
{
	uint64_t w;
	memcpy(&w, s, sizeof(w));
	return unplain_bytes(w) == 0;
}

bool aero_utf8_is_plain(const char *src, size_t len)
{
	size_t i = 0;
	/* Blocks of 64 bytes with one test each: no branch per word. */
	for (; i + 64 <= len; i += 64) {
		uint64_t w[8], found = 0;
		memcpy(w, src + i, sizeof(w));
		for (int k = 0; k < 8; k++)
			found |= unplain_bytes(w[k]);
		if (found != 0)
			return false;
	}
	for (; i + 8 <= len; i += 8)
		if (!plain_word(src + i))
			return false;
	for (; i < len; i++)
		if ((unsigned char)src[i] - 1U >= 0x7FU)
			return false;
	return true;
}

/* The end of the run of plain ASCII (1 to 127) that starts at from. */
static size_t plain_run(const char *src, size_t from, size_t len)
{
	size_t i = from;
	while (i + 8 <= len && plain_word(src + i))
		i += 8;
	while (i < len && (unsigned char)src[i] - 1U < 0x7FU)
		i++;
	return i;
}

size_t aero_utf8_sanitize(char *dst, const char *src, size_t len)
{
	size_t in = 0, out = 0;
	while (in < len) {
		const size_t run = plain_run(src, in, len);
		memcpy(dst + out, src + in, run - in);
		out += run - in;
		in = run;
		if (in == len)
			break;
		bool valid = false;
		const size_t n = src[in] == '\0' ? 1
		                                 : scan_character((const unsigned char *)src + in,
		                                                  len - in, &valid);
		if (valid)
			memcpy(dst + out, src + in, n);
		else
			memcpy(dst + out, replacement, sizeof(replacement));
		out += valid ? n : sizeof(replacement);
		in += n;
	}
	return out;
}

size_t aero_utf8_incomplete_tail(const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	for (size_t k = 1; k <= 3 && k <= len; k++) {
		const unsigned char b = s[len - k];
		if (b >= 0x80 && b <= 0xBF)
			continue; /* a continuation byte: its lead is further back */
		unsigned char lo, hi;
		bool valid;
		if (lead_byte(b, &lo, &hi) > k && scan_character(s + len - k, k, &valid) == k)
			return k;
		return 0;
	}
	return 0;
}
