/* The few fields the s3:// backend reads from S3's XML answers. */
#include "s3_xml.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Whether [p, end) starts with the tag name followed by '>', '/' or a blank. */
static bool name_at(const char *p, const char *end, const char *name, size_t name_len)
{
	if ((size_t)(end - p) <= name_len || memcmp(p, name, name_len) != 0)
		return false;
	const char next = p[name_len];
	return next == '>' || next == '/' || next == ' ' || next == '\t' || next == '\r' ||
	       next == '\n';
}

const char *aero_s3_xml_find(const char *from, const char *end, const char *name,
                             struct aero_s3_xml_span *content)
{
	const size_t name_len = strlen(name);
	for (const char *p = from; p < end;) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (lt == NULL)
			return NULL;
		p = lt + 1;
		if (!name_at(p, end, name, name_len))
			continue;
		const char *gt = memchr(p, '>', (size_t)(end - p));
		if (gt == NULL)
			return NULL;
		if (gt[-1] == '/') {
			content->text = gt + 1;
			content->len = 0;
			return gt + 1;
		}
		const char *text = gt + 1;
		for (const char *q = text; q < end;) {
			const char *close = memchr(q, '<', (size_t)(end - q));
			if (close == NULL)
				return NULL;
			if ((size_t)(end - close) >= name_len + 3 && close[1] == '/' &&
			    memcmp(close + 2, name, name_len) == 0 && close[2 + name_len] == '>') {
				content->text = text;
				content->len = (size_t)(close - text);
				return close + name_len + 3;
			}
			q = close + 1;
		}
		return NULL;
	}
	return NULL;
}

/* Writes code point cp as UTF-8 into out; returns the bytes written, or 0 for
 * a value that is no character (or NUL, which no key may hold). */
static size_t utf8_put(uint32_t cp, char *out)
{
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes the entity between '&' and ';' (exclusive) into out (4 bytes or
 * more); returns its length, or 0 when it is not one this decoder knows. */
static size_t entity_decode(const char *name, size_t len, char *out)
{
	static const struct {
		const char *name;
		char ch;
	} named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (len == strlen(named[i].name) && memcmp(name, named[i].name, len) == 0) {
			out[0] = named[i].ch;
			return 1;
		}
	if (len < 2 || name[0] != '#')
		return 0;
	const bool hex = name[1] == 'x' || name[1] == 'X';
	size_t i = hex ? 2 : 1;
	if (i == len || len - i > 8)
		return 0;
	uint32_t cp = 0;
	for (; i < len; i++) {
		const char c = name[i];
		uint32_t digit;
		if (c >= '0' && c <= '9')
			digit = (uint32_t)(c - '0');
		else if (hex && c >= 'a' && c <= 'f')
			digit = (uint32_t)(c - 'a' + 10);
		else if (hex && c >= 'A' && c <= 'F')
			digit = (uint32_t)(c - 'A' + 10);
		else
			return 0;
		cp = cp * (hex ? 16 : 10) + digit;
	}
	return utf8_put(cp, out);
}

char *aero_s3_xml_unescape(const struct aero_s3_xml_span *span)
{
	/* Every entity is at least as long as what it decodes to. */
	char *out = malloc(span->len + 1);
	if (out == NULL)
		return NULL;
	size_t used = 0;
	for (size_t i = 0; i < span->len;) {
		const char c = span->text[i];
		if (c == '&') {
			const char *semi = memchr(span->text + i, ';', span->len - i);
			if (semi != NULL) {
				const size_t name_len = (size_t)(semi - (span->text + i)) - 1;
				const size_t n =
				        entity_decode(span->text + i + 1, name_len, out + used);
				if (n > 0) {
					used += n;
					i += name_len + 2;
					continue;
				}
			}
		}
		out[used++] = c;
		i++;
	}
	out[used] = '\0';
	return out;
}

char *aero_s3_xml_text(const char *from, const char *end, const char *name)
{
	struct aero_s3_xml_span span;
	if (aero_s3_xml_find(from, end, name, &span) == NULL)
		return NULL;
	return aero_s3_xml_unescape(&span);
}
