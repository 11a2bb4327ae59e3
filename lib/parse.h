/* Parsers for the values users put in options and AERO_* variables. Each
 * returns 0, or -1 with an aero_error message that names the bad value. */
#ifndef AERO_PARSE_H
#define AERO_PARSE_H

#include <stdbool.h>

/* A whole decimal integer in [min, max]. */
int aero_parse_int(const char *text, long min, long max, long *out);

/* 1/0, true/false, yes/no, on/off (any case). */
int aero_parse_bool(const char *text, bool *out);

/* A duration: "10", "2.5", "10s", "500ms", "1m"; plain numbers are seconds.
 * The result is in milliseconds, at most max_ms. */
int aero_parse_duration_ms(const char *text, long max_ms, long *out);

/* A number of CPUs, "2" or "0.5" (at most 1024, 9 decimals), in billionths. */
int aero_parse_cpus(const char *text, long long *nano_out);

#endif
