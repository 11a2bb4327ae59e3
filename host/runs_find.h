/* Finding the runs recorded under the runs directory (runsdir.h): one rule for
 * every command that takes a RUN (a run id, a unique prefix of one, or a run
 * directory's path). */
#ifndef AERO_HOST_RUNS_FIND_H
#define AERO_HOST_RUNS_FIND_H

#include <stdbool.h>
#include <stddef.h>

/* Whether dir holds a run (a manifest.json). */
bool aero_run_dir_is_run(const char *dir);

/* The ids of the runs under runs, newest first (ids sort by time), as a
 * NULL-terminated array with *count entries; empty when runs does not exist.
 * NULL when out of memory. Free with aero_run_ids_free. */
char **aero_run_ids(const char *runs, size_t *count);

/* Frees what aero_run_ids returned. */
void aero_run_ids_free(char **ids);

/* The directory of RUN (malloc'd); NULL after printing why, with *status
 * AERO_EXIT_NO_RUN (no such run, or more than one) or AERO_EXIT_INTERNAL. */
char *aero_run_dir_find(const char *run, int *status);

#endif
