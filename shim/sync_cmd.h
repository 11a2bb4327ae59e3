/* `aero-init sync`: deliver a run's records to its trackers afterwards. */
#ifndef AERO_SHIM_SYNC_CMD_H
#define AERO_SHIM_SYNC_CMD_H

/* Runs `aero-init sync [--tracker LIST] [--timeout DURATION] RUN_DIR` (argv[0]
 * is "sync"); returns the exit status: 0 delivered, 1 a tracker refused it or
 * is not set up, 75 not all delivered in time (run it again), 125 bad input. */
int aero_sync_main(int argc, char **argv);

#endif
