/* Where runs and the artifact cache live on this machine, and new runs' ids:
 * one rule for aero-init and aero-launch. */
#ifndef AERO_RUNSDIR_H
#define AERO_RUNSDIR_H

#include <stdbool.h>
#include <stddef.h>

/* The directory that holds the runs: AERO_RUNS_DIR, else
 * $XDG_DATA_HOME/aeromancy/runs, else ~/.local/share/aeromancy/runs, else
 * /var/lib/aeromancy/runs. malloc'd; NULL when out of memory. */
char *aero_runs_dir(void);

/* The artifact cache shared by runs: AERO_CACHE_DIR, else
 * $XDG_CACHE_HOME/aeromancy, else ~/.cache/aeromancy. malloc'd. */
char *aero_cache_dir(void);

/* A new run id that sorts by time: 20261126-153012-1a2b3c4d (malloc'd). */
char *aero_run_id_new(void);

/* Whether id may name a run: 1 to 64 of [A-Za-z0-9._-], not starting with
 * '.' (it names a directory and travels in URLs). */
bool aero_run_id_valid(const char *id);

/* Makes dir and its parents (mode 0755). 0, or -1 with aero_error set. */
int aero_mkdirs(const char *dir);

/* dir "/" name, malloc'd; NULL when out of memory. */
char *aero_path_join(const char *dir, const char *name);

#endif
