/* `aero-init log`: record metrics from a shell script. */
#ifndef AERO_SHIM_LOG_CMD_H
#define AERO_SHIM_LOG_CMD_H

/* Runs `aero-init log [--step N] [--summary|--config] KEY=VALUE...` (argv[0] is
 * "log"); returns the exit status: 0 recorded, 1 refused, 125 bad input. */
int aero_log_main(int argc, char **argv);

#endif
