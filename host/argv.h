/* A growing, NULL-terminated argument vector of owned strings: the command
 * lines aero-launch builds for the children it starts. */
#ifndef AERO_HOST_ARGV_H
#define AERO_HOST_ARGV_H

#include <stdbool.h>
#include <stddef.h>

struct aero_argv {
	char **v; /* NULL-terminated once anything is added */
	size_t n;
	bool failed; /* memory ran out: v is not to be used */
};

/* Appends the formatted string; on failure sets a->failed and adds nothing
 * more. */
__attribute__((format(printf, 2, 3))) void aero_argv_add(struct aero_argv *a, const char *fmt, ...);

/* Frees the strings and the vector. */
void aero_argv_free(struct aero_argv *a);

#endif
