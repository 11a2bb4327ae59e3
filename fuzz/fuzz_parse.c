/* lib/parse.c: the values of options and AERO_* variables (integers, booleans,
 * durations, CPU counts); results stay within the bounds asked for. */
#include "parse.h"

#include "support.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	long n = 0;
	if (aero_parse_int(text, -1000, 1000, &n) == 0 && (n < -1000 || n > 1000))
		abort();
	if (aero_parse_int(text, LONG_MIN, LONG_MAX, &n) == 0)
		(void)n;
	bool b = false;
	(void)aero_parse_bool(text, &b);
	long ms = 0;
	if (aero_parse_duration_ms(text, 3600000L, &ms) == 0 && (ms < 0 || ms > 3600000L))
		abort();
	if (aero_parse_duration_ms(text, LONG_MAX, &ms) == 0 && ms < 0)
		abort();
	long long nano = 0;
	if (aero_parse_cpus(text, &nano) == 0 && (nano <= 0 || nano > 1024000000000LL))
		abort();
	free(text);
	return 0;
}
