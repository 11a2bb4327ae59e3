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

/* A shape, with room for texts up to some length (aero_json_shape_room). */
struct aero_json_shape;

/* A shape with room for texts of len bytes and somewhat longer ones (their
 * numbers grown a few digits), up to AERO_JSON_SHAPE_TEXT_MAX; it matches
 * nothing until learned. NULL when out of memory. */
struct aero_json_shape *aero_json_shape_new(size_t len);

/* Frees a shape (NULL is allowed). */
void aero_json_shape_free(struct aero_json_shape *shape);

/* The length of the longest text the shape has room for. */
size_t aero_json_shape_room(const struct aero_json_shape *shape);

/* Learns the shape of text (len bytes), which aero_json_scan_object accepted
 * with members[0..count). 0, or -1 (the shape is cleared) when it is longer
 * than the shape has room for or has too many numbers or members to keep. */
int aero_json_shape_learn(struct aero_json_shape *shape, const char *text, size_t len,
                          const struct aero_json_member *members, size_t count);

/* The length of the object of this shape that text (len bytes) starts with,
 * whose members it then sets (value, len, kind, underscore_key; the same
 * count as learned); 0 when text does not start with one. Keeps the layout
 * of what it matched, for the next. */
size_t aero_json_shape_match(struct aero_json_shape *shape, const char *text, size_t len,
                             struct aero_json_member *members);

#endif
