/* Artifact failures as exit statuses. */
#include "artifact_status.h"

#include "error.h"
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int aero_artifact_fail(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *message = NULL;
	const int len = vasprintf(&message, fmt, ap);
	va_end(ap);
	if (len < 0)
		aero_error_set("out of memory");
	else
		aero_error_set("%s", message);
	free(message);
	return status;
}

int aero_artifact_exit_status(int status, int internal)
{
	switch (status) {
	case AERO_ARTIFACT_OK:
		return 0;
	case AERO_ARTIFACT_UNKNOWN:
		return AERO_EXIT_ARTIFACT_UNKNOWN;
	case AERO_ARTIFACT_BAD_INPUT:
		return AERO_EXIT_ARTIFACT_BAD_INPUT;
	case AERO_ARTIFACT_DIGEST:
		return AERO_EXIT_ARTIFACT_DIGEST;
	case AERO_ARTIFACT_DENIED:
		return AERO_EXIT_ARTIFACT_DENIED;
	case AERO_ARTIFACT_STORE:
		return AERO_EXIT_ARTIFACT_STORE;
	default:
		return internal;
	}
}

int aero_artifact_status_of_store(int store_status)
{
	switch (store_status) {
	case AERO_STORE_OK:
		return AERO_ARTIFACT_OK;
	case AERO_STORE_DENIED:
		return AERO_ARTIFACT_DENIED;
	case AERO_STORE_NOT_FOUND:
		return AERO_ARTIFACT_UNKNOWN;
	default:
		return AERO_ARTIFACT_STORE;
	}
}
