/* Argument vectors built an item at a time, with one failure flag instead of
 * a check after each item. */
#include "argv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void aero_argv_add(struct aero_argv *a, const char *fmt, ...)
{
	char **bigger = a->failed ? NULL : realloc(a->v, (a->n + 2) * sizeof(char *));
	if (bigger == NULL) {
		a->failed = true;
		return;
	}
	a->v = bigger;
	char *item = NULL;
	va_list ap;
	va_start(ap, fmt);
	const int len = vasprintf(&item, fmt, ap);
	va_end(ap);
	if (len < 0) {
		a->failed = true;
		a->v[a->n] = NULL;
		return;
	}
	a->v[a->n++] = item;
	a->v[a->n] = NULL;
}

void aero_argv_free(struct aero_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}
