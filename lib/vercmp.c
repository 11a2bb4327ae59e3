/* The algorithm of Debian Policy 5.6.12, written from its description. */
#include "vercmp.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The weight of one character in the non-digit parts: '~' first, then the
 * end of the part, then letters, then everything else. */
static int order(int c)
{
	if (c == '~')
		return -1;
	if (c == 0 || isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	return c + 256;
}

/* Compares [a, a_end) with [b, b_end): alternating non-digit and digit runs. */
static int compare_part(const char *a, const char *a_end, const char *b, const char *b_end)
{
	while (a < a_end || b < b_end) {
		int first_diff = 0;
		while ((a < a_end && !isdigit((unsigned char)*a)) ||
		       (b < b_end && !isdigit((unsigned char)*b))) {
			const int ac = a < a_end ? order((unsigned char)*a) : 0;
			const int bc = b < b_end ? order((unsigned char)*b) : 0;
			if (ac != bc)
				return ac - bc;
			a += a < a_end;
			b += b < b_end;
		}
		while (a < a_end && *a == '0')
			a++;
		while (b < b_end && *b == '0')
			b++;
		while (a < a_end && isdigit((unsigned char)*a) && b < b_end &&
		       isdigit((unsigned char)*b)) {
			if (first_diff == 0)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (a < a_end && isdigit((unsigned char)*a))
			return 1;
		if (b < b_end && isdigit((unsigned char)*b))
			return -1;
		if (first_diff != 0)
			return first_diff;
	}
	return 0;
}

/* Splits "epoch:upstream-revision" into its parts. */
static void split(const char *v, long *epoch, const char **up, const char **up_end,
                  const char **rev, const char **rev_end)
{
	const char *colon = strchr(v, ':');
	*epoch = 0;
	if (colon != NULL && colon > v && strspn(v, "0123456789") == (size_t)(colon - v)) {
		*epoch = strtol(v, NULL, 10);
		v = colon + 1;
	}
	const char *end = v + strlen(v);
	const char *dash = strrchr(v, '-');
	*up = v;
	*up_end = dash != NULL ? dash : end;
	*rev = dash != NULL ? dash + 1 : end;
	*rev_end = end;
}

int aero_version_compare(const char *a, const char *b)
{
	long ea, eb;
	const char *ua, *ua_end, *ra, *ra_end, *ub, *ub_end, *rb, *rb_end;
	split(a, &ea, &ua, &ua_end, &ra, &ra_end);
	split(b, &eb, &ub, &ub_end, &rb, &rb_end);
	if (ea != eb)
		return ea < eb ? -1 : 1;
	const int c = compare_part(ua, ua_end, ub, ub_end);
	return c != 0 ? c : compare_part(ra, ra_end, rb, rb_end);
}
