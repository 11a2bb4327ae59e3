/* One pass over the text, no allocation, no recursion: an explicit stack of
 * the open containers (a byte each, bounded by AERO_JSON_MAX_DEPTH) and a
 * loop that goes from a value to what follows it to the next key or value.
 * Runs of plain string bytes and of digits, most of a metric record, are
 * taken 16 bytes at a time. It stays one file past the usual size: split,
 * the token scanners could no longer be inlined into the loop, which is much
 * of its speed. */
#include "jsonscan.h"

#include "error.h"

#include <stdlib.h>
#include <string.h>

/* Bytes that a string holds as they are: printable ASCII but '"' and '\'. */
static const unsigned char plain_byte[256] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
        1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20: '"' */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50: '\' */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x70 */
        /* 0x80 to 0xff: UTF-8, checked sequence by sequence */
};

/* Runs of plain bytes (in strings) and of digits, which are most of a
 * record, are taken 16 bytes at a time with SSE2 (every x86-64 has it), else
 * one by one (which takes about a fifth longer). Each returns how many of the
 * RUN bytes at p, from the first, belong to the run. */
#if defined(__SSE2__)
#include <emmintrin.h>
#define RUN 16

static __m128i load16(const char *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

/* Plain bytes: not '"', not '\\', not below ' ' and not beyond ASCII (which
 * compare below ' ' as signed bytes). */
static size_t plain_run(const char *p)
{
	const __m128i x = load16(p);
	const __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
	                                                  _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))),
	                                     _mm_cmplt_epi8(x, _mm_set1_epi8(' ')));
	const unsigned mask = (unsigned)_mm_movemask_epi8(special);
	return mask != 0 ? (size_t)__builtin_ctz(mask) : RUN;
}

static size_t digit_run(const char *p)
{
	const __m128i x = load16(p);
	const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
	                                    _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
	const unsigned other = ~(unsigned)_mm_movemask_epi8(digit) & 0xffffu;
	return other != 0 ? (size_t)__builtin_ctz(other) : RUN;
}
#else
#define RUN 0
#endif

/* Where the text first breaks the grammar, and how. */
struct problem {
	const char *at;
	const char *why;
};

/* Records the problem; returns NULL, which every scanning step returns then. */
static const char *fail(struct problem *pb, const char *at, const char *why)
{
	pb->at = at;
	pb->why = why;
	return NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline const char *skip_blanks(const char *p, const char *end)
{
	/* Every blank is at most ' ': one comparison for the usual none. */
	while (p < end && (unsigned char)*p <= ' ' && is_blank(*p))
		p++;
	return p;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Past the digits at p. */
static inline const char *skip_digits(const char *p, const char *end)
{
#if RUN
	while (end - p >= RUN) {
		const size_t run = digit_run(p);
		p += run;
		if (run < RUN)
			return p;
	}
#endif
	while (p < end && is_digit(*p))
		p++;
	return p;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The four hex digits at p (end bounds them) as a number, or -1. */
static long hex4(const char *p, const char *end)
{
	if (end - p < 4)
		return -1;
	long code = 0;
	for (int i = 0; i < 4; i++) {
		const int digit = hex_value(p[i]);
		if (digit < 0)
			return -1;
		code = code * 16 + digit;
	}
	return code;
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: shortest
 * form, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_length(const unsigned char *p, const unsigned char *end)
{
	const unsigned char c = p[0];
	size_t len;
	unsigned char low = 0x80, high = 0xbf; /* bounds of the second byte */
	if (c < 0xc2)
		return 0; /* a continuation byte, or an overlong two-byte form */
	if (c < 0xe0) {
		len = 2;
	} else if (c < 0xf0) {
		len = 3;
		low = c == 0xe0 ? 0xa0 : 0x80;  /* overlong */
		high = c == 0xed ? 0x9f : 0xbf; /* UTF-16 surrogates */
	} else if (c < 0xf5) {
		len = 4;
		low = c == 0xf0 ? 0x90 : 0x80;  /* overlong */
		high = c == 0xf4 ? 0x8f : 0xbf; /* past U+10FFFF */
	} else {
		return 0;
	}
	if ((size_t)(end - p) < len || p[1] < low || p[1] > high)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* One escape at p (its backslash); returns the bytes it takes, or 0. */
static size_t escape_length(const char *p, const char *end)
{
	if (end - p < 2)
		return 0;
	switch (p[1]) {
	case '"':
	case '\\':
	case '/':
	case 'b':
	case 'f':
	case 'n':
	case 'r':
	case 't':
		return 2;
	case 'u':
		break;
	default:
		return 0;
	}
	const long code = hex4(p + 2, end);
	if (code < 0 || (code >= 0xdc00 && code <= 0xdfff))
		return 0; /* a low surrogate must follow a high one */
	if (code < 0xd800 || code > 0xdbff)
		return 6;
	const long low = end - p >= 8 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8, end) : -1;
	return low >= 0xdc00 && low <= 0xdfff ? 12 : 0;
}

/* The rest of a string from p, byte by byte: escapes, UTF-8 and the end. */
static const char *scan_string_rest(const char *p, const char *end, bool *escaped,
                                    struct problem *pb)
{
	for (;;) {
		while (p < end && plain_byte[(unsigned char)*p])
			p++;
		if (p == end)
			return fail(pb, p, "a string without its closing quote");
		const unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c == '\\') {
			const size_t len = escape_length(p, end);
			if (len == 0)
				return fail(pb, p, "an invalid escape or an unpaired surrogate");
			*escaped = true;
			p += len;
		} else if (c < 0x20) {
			return fail(pb, p, "a control character in a string (escape it)");
		} else {
			const size_t len =
			        utf8_length((const unsigned char *)p, (const unsigned char *)end);
			if (len == 0)
				return fail(pb, p, "invalid UTF-8");
			p += len;
		}
	}
}

/* Past the string whose opening quote is at p; *escaped tells whether it
 * held any escape. Plain ASCII, the usual string, is taken RUN bytes at a
 * time here; anything else goes to scan_string_rest. */
static inline const char *scan_string(const char *p, const char *end, bool *escaped,
                                      struct problem *pb)
{
	p++;
#if RUN
	while (end - p >= RUN) {
		const size_t run = plain_run(p);
		p += run;
		if (run < RUN) {
			if (*p == '"')
				return p + 1;
			break;
		}
	}
#endif
	return scan_string_rest(p, end, escaped, pb);
}

/* Past the number at p, by RFC 8259's grammar:
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static inline const char *scan_number(const char *start, const char *end, struct problem *pb)
{
	const char *p = start;
	if (*p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (p < end && is_digit(*p))
		p = skip_digits(p + 1, end);
	else
		return fail(pb, start, "an invalid number");
	if (p < end && *p == '.') {
		if (++p == end || !is_digit(*p))
			return fail(pb, start, "an invalid number");
		p = skip_digits(p + 1, end);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || !is_digit(*p))
			return fail(pb, start, "an invalid number");
		p = skip_digits(p + 1, end);
	}
	/* "01", "1.e3", "1-": what follows a number starts no other value. */
	if (p < end &&
	    (is_digit(*p) || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
		return fail(pb, start, "an invalid number");
	return p;
}

static const char *scan_literal(const char *p, const char *end, const char *word, size_t len,
                                struct problem *pb)
{
	if ((size_t)(end - p) < len || memcmp(p, word, len) != 0)
		return fail(pb, p, "an unexpected character");
	return p + len;
}

/* The next character of a valid string's raw text, unescaped and advanced
 * past; anything beyond ASCII comes back as -1 (no sought name holds it). */
static int next_char(const char **p)
{
	const unsigned char c = (unsigned char)**p;
	if (c != '\\') {
		(*p)++;
		return c < 0x80 ? c : -1;
	}
	const char e = (*p)[1];
	*p += 2;
	switch (e) {
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'u': {
		const long code = hex4(*p, *p + 4);
		*p += 4;
		return code < 0x80 ? (int)code : -1;
	}
	default:
		return e; /* '"', '\\' or '/' */
	}
}

/* Whether the raw text of a valid string (quotes excluded) spells ascii. */
static bool raw_is(const char *raw, size_t len, bool escaped, const char *ascii)
{
	if (!escaped) {
		/* ascii ends at its NUL, which no raw byte matches. */
		for (size_t i = 0; i < len; i++)
			if (ascii[i] != raw[i])
				return false;
		return ascii[len] == '\0';
	}
	const char *p = raw, *const end = raw + len;
	for (; *ascii != '\0'; ascii++)
		if (p >= end || next_char(&p) != (unsigned char)*ascii)
			return false;
	return p == end;
}

bool aero_json_string_is(const char *value, size_t len, const char *ascii)
{
	if (len < 2 || value[0] != '"')
		return false;
	return raw_is(value + 1, len - 2, memchr(value, '\\', len) != NULL, ascii);
}

static enum aero_json_kind kind_of(char c)
{
	switch (c) {
	case '{':
		return AERO_JSON_OBJECT;
	case '[':
		return AERO_JSON_ARRAY;
	case '"':
		return AERO_JSON_STRING;
	case 't':
		return AERO_JSON_TRUE;
	case 'f':
		return AERO_JSON_FALSE;
	case 'n':
		return AERO_JSON_NULL;
	default:
		return AERO_JSON_NUMBER;
	}
}

/* The sought member named by the raw key, or NULL. */
static struct aero_json_member *sought(struct aero_json_member *members, size_t count,
                                       const char *raw, size_t len, bool escaped)
{
	for (size_t i = 0; i < count; i++) {
		const char *name = members[i].name;
		if (escaped) {
			if (raw_is(raw, len, true, name))
				return &members[i];
			continue;
		}
		/* The usual key, compared here rather than in a call per name. */
		size_t same = 0;
		while (same < len && name[same] == raw[same])
			same++;
		if (same == len && name[len] == '\0')
			return &members[i];
	}
	return NULL;
}

/* What the scan of one text has seen. */
struct scan {
	const char *end;
	unsigned char stack[AERO_JSON_MAX_DEPTH]; /* '{' or '[' per open container */
	size_t depth;
	struct aero_json_member *members;
	size_t count;
	struct aero_json_member *current; /* a sought member whose value is being scanned */
	struct problem problem;
};

/* A key and its colon, p at the key's opening quote; returns where its
 * value starts. At the top level it notes the sought members. */
static const char *scan_key(struct scan *s, const char *p)
{
	bool escaped = false;
	if (p == s->end || *p != '"')
		return fail(&s->problem, p, "a key not in quotes");
	const char *raw = p + 1;
	p = scan_string(p, s->end, &escaped, &s->problem);
	if (p == NULL)
		return NULL;
	const size_t raw_len = (size_t)(p - 1 - raw);
	if (s->depth == 1) {
		s->current = sought(s->members, s->count, raw, raw_len, escaped);
		if (s->current != NULL && s->current->kind != AERO_JSON_ABSENT) {
			s->problem.why = NULL; /* not a grammar problem: its own error */
			aero_error_set("duplicate key \"%s\"", s->current->name);
			return NULL;
		}
	} else if (s->depth == 2 && s->current != NULL && raw_len > 0) {
		const char *first = raw;
		if (next_char(&first) == '_')
			s->current->underscore_key = true;
	}
	p = skip_blanks(p, s->end);
	if (p == s->end || *p != ':')
		return fail(&s->problem, p, "a key without ':'");
	p = skip_blanks(p + 1, s->end);
	if (s->depth == 1 && s->current != NULL && p < s->end) {
		s->current->value = p;
		s->current->kind = kind_of(*p);
	}
	return p;
}

/* Opens a container at p; returns what follows its bracket. */
static const char *open_container(struct scan *s, const char *p)
{
	if (s->depth == AERO_JSON_MAX_DEPTH)
		return fail(&s->problem, p, "objects and arrays nested more than 1000 deep");
	s->stack[s->depth++] = (unsigned char)*p;
	return skip_blanks(p + 1, s->end);
}

/* The whole text, value by value: a loop rather than recursion, so that
 * nesting costs one byte of s->stack per level. NULL when it breaks. */
static const char *scan_text(struct scan *s, const char *p)
{
	const char *const end = s->end;
	bool escaped = false;
	p = skip_blanks(p, end);
value:
	if (p == end)
		return fail(&s->problem, p, "an unexpected end");
	switch (*p) {
	case '"':
		p = scan_string(p, end, &escaped, &s->problem);
		break;
	case '{':
		p = open_container(s, p);
		if (p != NULL && p < end && *p == '}') {
			s->depth--;
			p++;
			break;
		}
		if (p == NULL)
			return NULL;
		goto key;
	case '[':
		p = open_container(s, p);
		if (p != NULL && p < end && *p == ']') {
			s->depth--;
			p++;
			break;
		}
		if (p == NULL)
			return NULL;
		goto value;
	case 't':
		p = scan_literal(p, end, "true", 4, &s->problem);
		break;
	case 'f':
		p = scan_literal(p, end, "false", 5, &s->problem);
		break;
	case 'n':
		p = scan_literal(p, end, "null", 4, &s->problem);
		break;
	default:
		if (*p != '-' && !is_digit(*p))
			return fail(&s->problem, p, "an unexpected character");
		p = scan_number(p, end, &s->problem);
		break;
	}
	if (p == NULL)
		return NULL;
after_value:
	if (s->depth == 1 && s->current != NULL) {
		s->current->len = (size_t)(p - s->current->value);
		s->current = NULL;
	}
	p = skip_blanks(p, end);
	if (s->depth == 0)
		return p == end ? p : fail(&s->problem, p, "text after the end of the value");
	if (p == end)
		return fail(&s->problem, p, "an unexpected end");
	const bool in_object = s->stack[s->depth - 1] == '{';
	if (*p != ',') {
		if (*p != (in_object ? '}' : ']'))
			return fail(&s->problem, p,
			            in_object ? "a missing ',' or '}'" : "a missing ',' or ']'");
		s->depth--;
		p++;
		goto after_value;
	}
	p = skip_blanks(p + 1, end);
	if (!in_object)
		goto value;
key:
	p = scan_key(s, p);
	if (p == NULL)
		return NULL;
	goto value;
}

int aero_json_scan_object(const char *text, size_t len, struct aero_json_member *members,
                          size_t count)
{
	for (size_t i = 0; i < count; i++) {
		members[i].kind = AERO_JSON_ABSENT;
		members[i].value = NULL;
		members[i].len = 0;
		members[i].underscore_key = false;
	}
	/* Not an initializer: that would clear all of s.stack, a third of the
	 * time of a short message. */
	struct scan s;
	s.end = text + len;
	s.depth = 0;
	s.members = members;
	s.count = count;
	s.current = NULL;
	s.problem.at = NULL;
	s.problem.why = NULL;
	const char *first = skip_blanks(text, s.end);
	if (scan_text(&s, text) == NULL) {
		if (s.problem.why == NULL)
			return -1; /* a duplicate key: the error is set */
		return aero_error_set("not a JSON object: %s at byte %zu", s.problem.why,
		                      (size_t)(s.problem.at - text) + 1);
	}
	if (*first != '{')
		return aero_error_set("not a JSON object");
	return 0;
}

const char *aero_json_number_end(const char *p, const char *end)
{
	struct problem pb;
	return p < end ? scan_number(p, end, &pb) : NULL;
}

int aero_json_whole_number(const char *value, size_t len, long long max, long long *out)
{
	/* Plain digits, the usual case, without floating point. */
	if (len > 0 && len <= 15) {
		long long n = 0;
		size_t i = 0;
		for (; i < len && is_digit(value[i]); i++)
			n = n * 10 + (value[i] - '0');
		if (i == len) {
			if (n > max)
				return -1;
			*out = n;
			return 0;
		}
	}
	/* Like cJSON, which this replaces, read at most 63 characters. */
	char copy[64];
	if (len == 0 || len >= sizeof(copy))
		return -1;
	memcpy(copy, value, len);
	copy[len] = '\0';
	char *end = NULL;
	const double v = strtod(copy, &end);
	if (end != copy + len || !(v >= 0) || v > (double)max || v != (double)(long long)v)
		return -1;
	*out = (long long)v;
	return 0;
}
