/* Why a match proves a text valid: the runs are the bytes of a valid JSON
 * text between its numbers, kept exactly; a matching text has the same runs
 * with a valid number in place of each, and each run after a number starts
 * with a byte that ends one (a blank, ',', ']' or '}', as it did in the
 * learned text). So it is the learned text with its numbers replaced by
 * others: the same structure, keys and strings, valid JSON still, and its
 * members are where the learned ones were, moved by the numbers' lengths. */
#include "jsonshape.h"

#include <stdlib.h>
#include <string.h>

/* A byte of the learned text: in literal run `run`, at `offset`; or, for a
 * number member, the number `run`'s value (offset unused). */
struct place {
	uint16_t run;
	uint16_t offset;
};

struct shape_member {
	enum aero_json_kind kind;
	bool underscore_key;
	struct place first, last; /* first and last byte of its value */
};

struct aero_json_shape {
	size_t room; /* the longest text kept, as the runs or as the layout */
	/* The layout: a text matched (at least 16 bytes), with a mask of its
	 * numbers' digits and of those that must not be '0' (the first of an
	 * integer part's several). A text with the same layout (each number as
	 * long) is checked 16 bytes at a time, no byte's check waiting for
	 * another's. Each array has room bytes, in bytes[] below. */
	size_t layout_len; /* 0: none */
	char *layout;
	unsigned char *layout_digit;
	unsigned char *layout_nonzero;
	struct {
		size_t at, len;
	} layout_members[AERO_JSON_SHAPE_MEMBERS_MAX];
	/* Layouts that never matched make the next wait: numbers whose lengths
	 * keep changing are not worth one. */
	unsigned layout_hits;    /* matches since the layout was kept */
	unsigned layout_wait;    /* texts to match the long way before keeping one */
	unsigned layout_backoff; /* what the next wait will be */
	size_t runs;             /* numbers + 1; 0: no shape */
	uint16_t run_at[AERO_JSON_SHAPE_NUMBERS_MAX + 1]; /* each run's start in text */
	uint16_t run_len[AERO_JSON_SHAPE_NUMBERS_MAX + 1];
	size_t count; /* members, as learned */
	struct shape_member members[AERO_JSON_SHAPE_MEMBERS_MAX];
	char *text; /* the runs, one after another (room bytes, and 16 to spare) */
	char bytes[];
};

struct aero_json_shape *aero_json_shape_new(size_t len)
{
	/* Room for a quarter more and 64 bytes, in whole 64s: a step that
	 * gains digits keeps its layout. */
	size_t room = (len + len / 4 + 64 + 63) / 64 * 64;
	if (room > AERO_JSON_SHAPE_TEXT_MAX)
		room = AERO_JSON_SHAPE_TEXT_MAX;
	struct aero_json_shape *shape = malloc(sizeof(*shape) + 4 * room + 16);
	if (shape == NULL)
		return NULL;
	memset(shape, 0, sizeof(*shape));
	shape->room = room;
	shape->layout = shape->bytes;
	shape->layout_digit = (unsigned char *)shape->bytes + room;
	shape->layout_nonzero = (unsigned char *)shape->bytes + 2 * room;
	shape->text = shape->bytes + 3 * room;
	return shape;
}

void aero_json_shape_free(struct aero_json_shape *shape)
{
	free(shape);
}

size_t aero_json_shape_room(const struct aero_json_shape *shape)
{
	return shape->room;
}

/* Forgets the shape: nothing matches it until the next learn. */
static void clear(struct aero_json_shape *shape)
{
	shape->runs = 0;
	shape->count = 0;
	shape->layout_len = 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool starts_number(char c)
{
	return c == '-' || is_digit(c);
}

#if defined(__SSE2__)
#include <emmintrin.h>

static inline __m128i load16(const char *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}
#endif

/* Whether the n bytes at a (of text that ends at a_end) are those at b (a
 * run of the shape, which has 16 bytes to spare after it): 16 at a time, and
 * what is left with one more comparison of 16 where the text has them. A
 * run is tens of bytes; this takes a fraction of a call to memcmp. */
static inline bool same(const char *a, const char *a_end, const char *b, size_t n)
{
#if defined(__SSE2__)
	for (; n >= 16; a += 16, b += 16, n -= 16) {
		if (_mm_movemask_epi8(_mm_cmpeq_epi8(load16(a), load16(b))) != 0xffff)
			return false;
	}
	if (n == 0)
		return true;
	if (a_end - a >= 16) {
		const unsigned equal =
		        (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(load16(a), load16(b)));
		const unsigned wanted = (1u << n) - 1;
		return (equal & wanted) == wanted;
	}
#else
	(void)a_end;
#endif
	return memcmp(a, b, n) == 0;
}

/* Past the string whose opening quote is at p (the text is valid). */
static size_t past_string(const char *text, size_t i, size_t len)
{
	for (i++; i < len && text[i] != '"'; i++) {
		if (text[i] == '\\')
			i++;
	}
	return i + 1;
}

/* Where the byte at offset `at` of the learned text went: the literal run
 * that holds it. learned_at holds each run's start in the learned text. */
static bool place_of(const struct aero_json_shape *shape, const size_t *learned_at, size_t at,
                     struct place *out)
{
	for (size_t r = 0; r < shape->runs; r++) {
		if (at >= learned_at[r] && at < learned_at[r] + shape->run_len[r]) {
			out->run = (uint16_t)r;
			out->offset = (uint16_t)(at - learned_at[r]);
			return true;
		}
	}
	return false;
}

/* Keeps text (len bytes, matched or learned: valid, with the numbers
 * [number_start[i], number_end[i]) and the members found in it) as the
 * layout that the next text is checked against first. */
static void set_layout(struct aero_json_shape *shape, const char *text, size_t len,
                       const char *const *number_start, const char *const *number_end,
                       size_t numbers, const struct aero_json_member *members, size_t count)
{
	shape->layout_len = 0;
	shape->layout_hits = 0;
	if (len < 16 || len > shape->room)
		return;
	memcpy(shape->layout, text, len);
	memset(shape->layout_digit, 0, len);
	memset(shape->layout_nonzero, 0, len);
	for (size_t i = 0; i < numbers; i++) {
		const size_t from = (size_t)(number_start[i] - text);
		const size_t to = (size_t)(number_end[i] - text);
		const size_t first = from + (text[from] == '-');
		size_t whole = first;
		while (whole < to && is_digit(text[whole]))
			whole++;
		for (size_t j = first; j < to; j++)
			shape->layout_digit[j] = is_digit(text[j]) ? 0xff : 0;
		if (whole - first > 1)
			shape->layout_nonzero[first] = 0xff;
	}
	for (size_t m = 0; m < count; m++) {
		shape->layout_members[m].at =
		        members[m].value != NULL ? (size_t)(members[m].value - text) : 0;
		shape->layout_members[m].len = members[m].len;
	}
	shape->layout_len = len;
}

/* After a text matched the long way: keeps its layout, unless layouts kept
 * lately never matched (then only after a wait, longer each time). */
static void next_layout(struct aero_json_shape *shape, const char *text, size_t len,
                        const char *const *number_start, const char *const *number_end,
                        size_t numbers, const struct aero_json_member *members, size_t count)
{
	if (shape->layout_len > 0) {
		if (shape->layout_hits > 0) {
			shape->layout_backoff = 0;
		} else {
			shape->layout_backoff =
			        shape->layout_backoff == 0 ? 1 : shape->layout_backoff * 2;
			if (shape->layout_backoff > 64)
				shape->layout_backoff = 64;
			shape->layout_wait = shape->layout_backoff;
		}
		shape->layout_len = 0;
	}
	if (shape->layout_wait > 0) {
		shape->layout_wait--;
		return;
	}
	set_layout(shape, text, len, number_start, number_end, numbers, members, count);
}

/* Whether the 16 bytes of text at i are those of the layout, but for digits
 * where it has digits (never '0' where it says). */
static inline bool layout_block(const struct aero_json_shape *shape, const char *text, size_t i)
{
#if defined(__SSE2__)
	const __m128i x = load16(text + i);
	const __m128i same = _mm_cmpeq_epi8(x, load16(shape->layout + i));
	const __m128i d = _mm_sub_epi8(x, _mm_set1_epi8('0'));
	const __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
	const __m128i digit_ok =
	        _mm_and_si128(digit, load16((const char *)shape->layout_digit + i));
	const __m128i zero_bad = _mm_and_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('0')),
	                                       load16((const char *)shape->layout_nonzero + i));
	const __m128i ok = _mm_andnot_si128(zero_bad, _mm_or_si128(same, digit_ok));
	return _mm_movemask_epi8(ok) == 0xffff;
#else
	for (size_t j = i; j < i + 16; j++) {
		const bool ok =
		        shape->layout_digit[j] ? is_digit(text[j]) : text[j] == shape->layout[j];
		if (!ok || (shape->layout_nonzero[j] && text[j] == '0'))
			return false;
	}
	return true;
#endif
}

/* The layout's check: text (len bytes) has the same bytes where the layout
 * has them and digits where it has digits; then it is the layout's text with
 * other digits, valid, and its members are where the layout's were. Its
 * length, or 0. The last 16 bytes are checked in a block that overlaps the
 * one before. */
static size_t layout_match(struct aero_json_shape *shape, const char *text, size_t len,
                           struct aero_json_member *members)
{
	const size_t n = shape->layout_len;
	if (n == 0 || len < n)
		return 0;
	for (size_t i = 0; i + 16 < n; i += 16) {
		if (!layout_block(shape, text, i))
			return 0;
	}
	if (!layout_block(shape, text, n - 16))
		return 0;
	for (size_t m = 0; m < shape->count; m++) {
		members[m].kind = shape->members[m].kind;
		members[m].underscore_key = shape->members[m].underscore_key;
		members[m].value = members[m].kind == AERO_JSON_ABSENT
		                           ? NULL
		                           : text + shape->layout_members[m].at;
		members[m].len = shape->layout_members[m].len;
	}
	shape->layout_hits++;
	return n;
}

int aero_json_shape_learn(struct aero_json_shape *shape, const char *text, size_t len,
                          const struct aero_json_member *members, size_t count)
{
	clear(shape);
	if (len > shape->room || count > AERO_JSON_SHAPE_MEMBERS_MAX)
		return -1;
	size_t learned_at[AERO_JSON_SHAPE_NUMBERS_MAX + 1]; /* each run's start in text */
	const char *number_start[AERO_JSON_SHAPE_NUMBERS_MAX];
	const char *number_end[AERO_JSON_SHAPE_NUMBERS_MAX];
	size_t runs = 0, run_start = 0, kept = 0;
	for (size_t i = 0; i <= len;) {
		if (i < len && text[i] == '"') {
			i = past_string(text, i, len);
			continue;
		}
		if (i < len && !starts_number(text[i])) {
			i++;
			continue;
		}
		/* A number starts at i, or the text ends: the run before it ends. */
		learned_at[runs] = run_start;
		shape->run_at[runs] = (uint16_t)kept;
		shape->run_len[runs] = (uint16_t)(i - run_start);
		memcpy(shape->text + kept, text + run_start, i - run_start);
		kept += i - run_start;
		if (i == len) {
			runs++;
			break;
		}
		if (runs == AERO_JSON_SHAPE_NUMBERS_MAX)
			return -1;
		const char *end = aero_json_number_end(text + i, text + len);
		if (end == NULL)
			return -1; /* not what aero_json_scan_object accepted */
		number_start[runs] = text + i;
		number_end[runs++] = end;
		i = run_start = (size_t)(end - text);
	}
	shape->runs = runs;
	for (size_t m = 0; m < count; m++) {
		struct shape_member *sm = &shape->members[m];
		sm->kind = members[m].kind;
		sm->underscore_key = members[m].underscore_key;
		if (sm->kind == AERO_JSON_ABSENT)
			continue;
		const size_t first = (size_t)(members[m].value - text);
		if (sm->kind == AERO_JSON_NUMBER) {
			size_t n = 0;
			while (n + 1 < runs && number_start[n] != members[m].value)
				n++;
			if (n + 1 == runs) {
				clear(shape);
				return -1;
			}
			sm->first.run = sm->last.run = (uint16_t)n;
			continue;
		}
		if (!place_of(shape, learned_at, first, &sm->first) ||
		    !place_of(shape, learned_at, first + members[m].len - 1, &sm->last)) {
			clear(shape);
			return -1;
		}
	}
	shape->count = count;
	shape->layout_wait = shape->layout_backoff = 0;
	set_layout(shape, text, len, number_start, number_end, runs - 1, members, count);
	return 0;
}

size_t aero_json_shape_match(struct aero_json_shape *shape, const char *text, size_t len,
                             struct aero_json_member *members)
{
	if (shape->runs == 0)
		return 0;
	const size_t same_layout = layout_match(shape, text, len, members);
	if (same_layout > 0)
		return same_layout;
	const char *run_start[AERO_JSON_SHAPE_NUMBERS_MAX + 1];
	const char *number_start[AERO_JSON_SHAPE_NUMBERS_MAX];
	const char *number_end[AERO_JSON_SHAPE_NUMBERS_MAX];
	const char *p = text;
	const char *const end = text + len;
	for (size_t r = 0;; r++) {
		const size_t run_len = shape->run_len[r];
		if ((size_t)(end - p) < run_len ||
		    !same(p, end, shape->text + shape->run_at[r], run_len))
			return 0;
		run_start[r] = p;
		p += run_len;
		if (r + 1 == shape->runs)
			break;
		number_start[r] = p;
		p = aero_json_number_end(p, end);
		if (p == NULL)
			return 0;
		number_end[r] = p;
	}
	for (size_t m = 0; m < shape->count; m++) {
		const struct shape_member *sm = &shape->members[m];
		members[m].kind = sm->kind;
		members[m].underscore_key = sm->underscore_key;
		if (sm->kind == AERO_JSON_ABSENT) {
			members[m].value = NULL;
			members[m].len = 0;
		} else if (sm->kind == AERO_JSON_NUMBER) {
			members[m].value = number_start[sm->first.run];
			members[m].len = (size_t)(number_end[sm->first.run] - members[m].value);
		} else {
			members[m].value = run_start[sm->first.run] + sm->first.offset;
			members[m].len = (size_t)(run_start[sm->last.run] + sm->last.offset + 1 -
			                          members[m].value);
		}
	}
	next_layout(shape, text, (size_t)(p - text), number_start, number_end, shape->runs - 1,
	            members, shape->count);
	return (size_t)(p - text);
}
