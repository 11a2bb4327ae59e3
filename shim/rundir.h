/* The run's identity and its directory: the id (AERO_RUN_ID, else drawn) and
 * where the run is recorded (--run-dir, else a new directory named by the id
 * under the runs directory). */
#ifndef AERO_SHIM_RUNDIR_H
#define AERO_SHIM_RUNDIR_H

#include "options.h"

/* Sets opts->run_id and, when the run is recorded and no directory was given,
 * opts->run_dir to the default one; a relative one given becomes absolute
 * (strings that live as long as the process).
 * -1 with aero_error when AERO_RUN_ID is not a usable id or no directory can
 * be named. */
int aero_run_dir_resolve(struct aero_init_options *opts);

#endif
