/* What aero-init does before the experiment starts: record it. */
#ifndef AERO_SHIM_PREPARE_H
#define AERO_SHIM_PREPARE_H

#include "options.h"
#include "privileges.h"

/* Captures the environment (unless switched off), exports the seeds and the
 * determinism settings, records the experiment's privileges (run.privileges),
 * and writes the manifest to the run directory when there is one. Returns 0, or AERO_EXIT_INTERNAL
 * after saying why: a run that cannot be recorded is not started. */
int aero_prepare_run(const struct aero_init_options *opts,
                     const struct aero_privileges *privileges);

#endif
