/* What went wrong in an artifact operation, in classes a user can act on,
 * and the exit status each class has in aero-init and aero-launch. The
 * message itself is in aero_error (error.h). */
#ifndef AERO_ARTIFACT_STATUS_H
#define AERO_ARTIFACT_STATUS_H

enum aero_artifact_status {
	AERO_ARTIFACT_OK = 0,
	AERO_ARTIFACT_INTERNAL = -1,  /* out of memory, local I/O, a bug */
	AERO_ARTIFACT_UNKNOWN = -2,   /* no such name or version in the store */
	AERO_ARTIFACT_BAD_INPUT = -3, /* bad reference or name, unsafe path, DIR conflict */
	AERO_ARTIFACT_DIGEST = -4,    /* bytes that do not match their digest */
	AERO_ARTIFACT_DENIED = -5,    /* the store refused the credentials, or has none */
	AERO_ARTIFACT_STORE = -6,     /* the store cannot be reached, or failed otherwise */
};

/* The exit statuses, the same in aero-init and aero-launch; both programs'
 * own statuses (2, 64-75, 125-127) stay clear of them. */
#define AERO_EXIT_ARTIFACT_UNKNOWN 76
#define AERO_EXIT_ARTIFACT_BAD_INPUT 77
#define AERO_EXIT_ARTIFACT_DIGEST 78
#define AERO_EXIT_ARTIFACT_DENIED 79
#define AERO_EXIT_ARTIFACT_STORE 80

/* Records a formatted aero_error message and returns status: for the many
 * places that fail with a class and a sentence. */
int aero_artifact_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The exit status for status; internal is the program's own internal status. */
int aero_artifact_exit_status(int status, int internal);

/* The artifact status for a store status (store.h): DENIED, UNKNOWN for
 * NOT_FOUND, STORE for the rest. */
int aero_artifact_status_of_store(int store_status);

#endif
