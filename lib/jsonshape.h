/* The shape of a JSON object that aero_json_scan_object accepted: its text
 * with each number taken out. An experiment logs the same keys step after
 * step, so its next record is usually the same text with other numbers; such
 * a text is checked against the shape by comparing the runs between numbers
 * and scanning each number, which proves it valid JSON and finds its members
 * in a fraction of a full scan's time. Anything else does not match and is
 * scanned in full. */
#ifndef AERO_JSONSHAPE_H
#define AERO_JSONSHAPE_H

#include "jsonscan.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Texts longer than this, with more numbers, or more members sought, get no
 * shape (they are scanned in full every time). */
#define AERO_JSON_SHAPE_TEXT_MAX 2048
#define AERO_JSON_SHAPE_NUMBERS_MAX 64
#define AERO_JSON_SHAPE_MEMBERS_MAX 8

/* A byte of the learned text: in literal run `run`, at `offset`; or, for a
 * number member, the number `run`'s value (offset unused). */
struct aero_json_shape_place {
	uint16_t run;
	uint16_t offset;
};

struct aero_json_shape_member {
	enum aero_json_kind kind;
	bool underscore_key;
	struct aero_json_shape_place first, last; /* first and last byte of its value */
};

struct aero_json_shape {
	/* The layout: a text matched (at least 16 bytes), with a mask of its
	 * numbers' digits and of those that must not be '0' (the first of an
	 * integer part's several). A text with the same layout (each number as
	 * long) is checked 16 bytes at a time, no byte's check waiting for
	 * another's. */
	size_t layout_len; /* 0: none */
	char layout[AERO_JSON_SHAPE_TEXT_MAX];
	unsigned char layout_digit[AERO_JSON_SHAPE_TEXT_MAX];
	unsigned char layout_nonzero[AERO_JSON_SHAPE_TEXT_MAX];
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
	struct aero_json_shape_member members[AERO_JSON_SHAPE_MEMBERS_MAX];
	char text[AERO_JSON_SHAPE_TEXT_MAX + 16]; /* the runs, one after another, and 16 to spare */
};

/* Learns the shape of text (len bytes), which aero_json_scan_object accepted
 * with members[0..count). 0, or -1 (the shape is cleared) when it is too
 * long or has too many numbers or members to keep. */
int aero_json_shape_learn(struct aero_json_shape *shape, const char *text, size_t len,
                          const struct aero_json_member *members, size_t count);

/* The length of the object of this shape that text (len bytes) starts with,
 * whose members it then sets (value, len, kind, underscore_key; the same
 * count as learned); 0 when text does not start with one. Keeps the layout
 * of what it matched, for the next. */
size_t aero_json_shape_match(struct aero_json_shape *shape, const char *text, size_t len,
                             struct aero_json_member *members);

/* Forgets the shape: nothing matches it until the next learn. */
void aero_json_shape_clear(struct aero_json_shape *shape);

#endif
