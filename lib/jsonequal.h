/* Equality of two JSON values as a reader means it: numbers by value (so
 * 1e309 equals itself, unlike cJSON_Compare), strings by their bytes, arrays
 * element by element, objects member by member whatever their order. */
#ifndef AERO_JSONEQUAL_H
#define AERO_JSONEQUAL_H

#include <cjson/cJSON.h>
#include <stdbool.h>

/* Whether a and b are the same value; two absent values (NULL) are the same. */
bool aero_json_equal(const cJSON *a, const cJSON *b);

#endif
