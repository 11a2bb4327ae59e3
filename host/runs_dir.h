/* Where runs are recorded on this machine, and new runs' ids. */
#ifndef AERO_HOST_RUNS_DIR_H
#define AERO_HOST_RUNS_DIR_H

#include <stddef.h>

/* The directory that holds the runs, as aero-init names it: AERO_RUNS_DIR,
 * else $XDG_DATA_HOME/aeromancy/runs, else ~/.local/share/aeromancy/runs.
 * malloc'd; NULL when out of memory. */
char *aero_runs_dir(void);

/* The artifact cache shared by runs: AERO_CACHE_DIR, else
 * $XDG_CACHE_HOME/aeromancy, else ~/.cache/aeromancy. malloc'd. */
char *aero_cache_dir(void);

/* A new run id that sorts by time: 20261126-153012-1a2b3c4d (malloc'd). */
char *aero_run_id_new(void);

/* Makes dir and its parents (mode 0755). 0, or -1 with aero_error set. */
int aero_mkdirs(const char *dir);

/* dir "/" name, malloc'd; NULL when out of memory. */
char *aero_path_join(const char *dir, const char *name);

#endif
