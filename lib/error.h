/* The last error of the calling program, with a message a user can act on. */
#ifndef AERO_ERROR_H
#define AERO_ERROR_H

/* Records a formatted error message, replacing the previous one; returns -1. */
int aero_error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The message recorded last, or "unknown error" when there is none. */
const char *aero_error_last(void);

/* Forgets the recorded message. */
void aero_error_clear(void);

#endif
