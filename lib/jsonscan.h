/* A validating JSON scanner for the metric channel's hot path: it checks one
 * text against RFC 8259 (grammar, number syntax, escapes, UTF-8, surrogate
 * pairs) without allocating, and finds the values of an object's top-level
 * members, which the caller then uses as they were sent. */
#ifndef AERO_JSONSCAN_H
#define AERO_JSONSCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Objects and arrays nested deeper than this are refused (cJSON's limit). */
#define AERO_JSON_MAX_DEPTH 1000

enum aero_json_kind {
	AERO_JSON_ABSENT, /* the member is not there */
	AERO_JSON_OBJECT,
	AERO_JSON_ARRAY,
	AERO_JSON_STRING,
	AERO_JSON_NUMBER,
	AERO_JSON_TRUE,
	AERO_JSON_FALSE,
	AERO_JSON_NULL,
};

/* One top-level member sought by aero_json_scan_object. */
struct aero_json_member {
	const char *name;         /* set by the caller: the name, plain ASCII */
	const char *value;        /* set by the scan, like the fields below: the */
	size_t len;               /* value's text, first byte to last (quotes included) */
	enum aero_json_kind kind; /* AERO_JSON_ABSENT when the member is not there */
	bool underscore_key;      /* an object whose own keys include one starting with '_' */
};

/* Validates text (len bytes, no terminator needed) as one JSON object and
 * fills members[0..count) (names compared after unescaping). 0, or -1 with
 * aero_error set: "not a JSON object[: what, at byte N]" or "duplicate key
 * \"NAME\"" when a sought member appears twice. */
int aero_json_scan_object(const char *text, size_t len, struct aero_json_member *members,
                          size_t count);

/* Past the JSON number at p (RFC 8259's grammar, and not followed by a byte
 * that would continue one), reading no further than end; NULL when there is
 * none. */
const char *aero_json_number_end(const char *p, const char *end);

/* Whether the JSON string value (len bytes, quotes included, valid) spells
 * ascii once unescaped. */
bool aero_json_string_is(const char *value, size_t len, const char *ascii);

/* The JSON number value (len bytes, valid) as a whole number from 0 to max
 * (at most 9e15); 1.0 and 1e2 count. 0, or -1 when it is not one. */
int aero_json_whole_number(const char *value, size_t len, long long max, long long *out);

#endif
