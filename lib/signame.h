/* Signal names and numbers, as users write them on command lines and in env. */
#ifndef AERO_SIGNAME_H
#define AERO_SIGNAME_H

#include <stddef.h>

/* Parses "TERM", "SIGTERM", "sigterm", "15", "RTMIN+2" or "SIGRTMAX-1" into *sig.
 * "0" is accepted only when allow_zero is set. Returns 0, or -1 with aero_error set. */
int aero_signal_parse(const char *text, int allow_zero, int *sig);

/* Writes the canonical name of sig ("SIGTERM", "SIGRTMIN+2") into buf; returns buf. */
const char *aero_signal_name(int sig, char *buf, size_t size);

#endif
