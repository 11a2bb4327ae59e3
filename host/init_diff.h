/* `aero-init diff`, the one comparison of two run manifests, run as a child
 * of aero-launch (`runs diff`, `rerun`). */
#ifndef AERO_HOST_INIT_DIFF_H
#define AERO_HOST_INIT_DIFF_H

/* Runs `aero-init diff [--ignore PATH]... A B`: its explanation goes to stdout,
 * or, when json is not NULL, it runs with --json and *json gets its output
 * (malloc'd; NULL unless the status is 0 or 1). aero-init's exit status: 0 equivalent, 1 different;
 * another status (AERO_EXIT_INTERNAL when it could not be run) after printing why. ignore is NULL
 * or NULL-terminated. */
int aero_init_diff(const char *a, const char *b, const char *const *ignore, char **json);

#endif
