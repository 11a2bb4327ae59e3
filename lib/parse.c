#include "parse.h"

#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int aero_parse_int(const char *text, long min, long max, long *out)
{
	if (text == NULL || *text == '\0')
		return aero_error_set("empty value where a number from %ld to %ld was expected",
		                      min, max);
	char *end = NULL;
	errno = 0;
	const long value = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || isspace((unsigned char)text[0]) || value < min ||
	    value > max)
		return aero_error_set("'%s' is not a whole number from %ld to %ld", text, min, max);
	*out = value;
	return 0;
}

int aero_parse_bool(const char *text, bool *out)
{
	static const char *const truthy[] = {"1", "true", "yes", "on"};
	static const char *const falsy[] = {"0", "false", "no", "off"};
	for (size_t i = 0; text != NULL && i < sizeof(truthy) / sizeof(truthy[0]); i++) {
		if (strcasecmp(text, truthy[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(text, falsy[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return aero_error_set("'%s' is not a boolean (use 1/0, true/false, yes/no or on/off)",
	                      text != NULL ? text : "");
}

int aero_parse_duration_ms(const char *text, long max_ms, long *out)
{
	if (text == NULL || *text == '\0' || !(isdigit((unsigned char)text[0]) || text[0] == '.'))
		goto bad;
	char *end = NULL;
	errno = 0;
	const double value = strtod(text, &end);
	if (errno != 0 || end == text || !isfinite(value) || value < 0)
		goto bad;

	double scale;
	if (*end == '\0' || strcmp(end, "s") == 0)
		scale = 1000.0;
	else if (strcmp(end, "ms") == 0)
		scale = 1.0;
	else if (strcmp(end, "m") == 0)
		scale = 60000.0;
	else
		goto bad;

	const double ms = value * scale;
	/* With max_ms near LONG_MAX, (double)max_ms rounds up to 2^63, which no
	 * long holds: the second test keeps the conversion below defined. */
	if (ms > (double)max_ms || ms >= 0x1p63)
		return aero_error_set("duration '%s' is longer than the limit of %ld ms", text,
		                      max_ms);
	*out = (long)ms;
	return 0;
bad:
	return aero_error_set("'%s' is not a duration (seconds such as 10 or 2.5, or with a "
	                      "unit: 500ms, 30s, 2m)",
	                      text != NULL ? text : "");
}

int aero_parse_cpus(const char *text, long long *nano_out)
{
	long long whole = 0, frac = 0, scale = 1000000000LL;
	const char *p = text;
	for (; *p >= '0' && *p <= '9' && whole <= 1024; p++)
		whole = whole * 10 + (*p - '0');
	bool digits = p != text;
	if (*p == '.') { /* "1." is refused as ".5" is: digits on both sides of a point */
		const char *decimals = ++p;
		for (; *p >= '0' && *p <= '9' && scale > 1; p++) {
			scale /= 10;
			frac += (*p - '0') * scale;
		}
		digits = digits && p != decimals;
	}
	const long long nano = whole * 1000000000LL + frac;
	if (!digits || *p != '\0' || nano <= 0 || nano > 1024 * 1000000000LL)
		return aero_error_set("'%s' is not a number of CPUs: use one such as 2 or 0.5 "
		                      "(at most 1024, 9 decimals)",
		                      text);
	*nano_out = nano;
	return 0;
}
