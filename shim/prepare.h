/* What aero-init does before the experiment starts: record it. */
#ifndef AERO_SHIM_PREPARE_H
#define AERO_SHIM_PREPARE_H

#include "options.h"

/* Captures the environment (unless switched off), exports the seeds and the
 * determinism settings, and writes the manifest to the run directory when
 * there is one. Returns 0, or AERO_EXIT_INTERNAL after saying why: a run
 * that cannot be recorded is not started. */
int aero_prepare_run(const struct aero_init_options *opts);

#endif
