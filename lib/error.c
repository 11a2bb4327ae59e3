/* A per-thread "last error": aero-init's main loop and its tracker courier
 * each have their own, and every failure path stays a plain `return -1`. A
 * thread frees its message when it ends (aero_error_clear). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local char *last_message;

int aero_error_set(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const int len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -1;

	char *message = malloc((size_t)len + 1);
	if (message == NULL) {
		aero_error_clear();
		return -1;
	}
	va_start(ap, fmt);
	(void)vsnprintf(message, (size_t)len + 1, fmt, ap);
	va_end(ap);
	free(last_message);
	last_message = message;
	return -1;
}

const char *aero_error_last(void)
{
	return last_message != NULL ? last_message : "unknown error (out of memory?)";
}

void aero_error_clear(void)
{
	free(last_message);
	last_message = NULL;
}
