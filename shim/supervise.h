/* The life of one run under aero-init: take over signals, start the experiment,
 * forward, reap, wind down, and report its exit status. */
#ifndef AERO_SHIM_SUPERVISE_H
#define AERO_SHIM_SUPERVISE_H

#include "options.h"

/* Runs opts->command to the end and returns the status aero-init should exit with. */
int aero_supervise(const struct aero_init_options *opts);

/* The exit status for a waitpid() status: the code, or 128+N for signal N,
 * then mapped to 0 when opts->remap_exit says so. */
int aero_exit_status(const struct aero_init_options *opts, int wait_status);

#endif
