/* Canonical JSON: one byte sequence per value, so that a hash of it is a
 * stable fingerprint. Object keys sorted by their bytes, no whitespace,
 * integers (|n| < 2^53) without fraction or exponent, other numbers as the
 * shortest of %.15g, %.16g, %.17g that reads back exactly,
 * non-finite numbers as null, strings with only the escapes JSON requires. */
#ifndef AERO_CANONJSON_H
#define AERO_CANONJSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The canonical text of item, malloc'd; NULL with aero_error set on failure. */
char *aero_json_canonical(const cJSON *item);

/* "sha256:<64 hex digits>" of the canonical text of item, into out (72 bytes). */
int aero_json_fingerprint(const cJSON *item, char out[72]);

#endif
