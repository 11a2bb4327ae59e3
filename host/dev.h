/* `aero-launch run --dev`: no Git checks, no container; the command runs
 * under aero-init on this machine, recorded as a dev run. */
#ifndef AERO_HOST_DEV_H
#define AERO_HOST_DEV_H

#include "run_opts.h"

/* Replaces aero-launch with aero-init (so that signals reach it directly),
 * with the run's settings in the environment. Returns only on failure, with
 * the exit status. */
int aero_dev_run(const struct aero_run_opts *opts);

#endif
