/* `aero-launch runs ls|show|diff` and `aero-launch sync`: reading back the
 * runs recorded on this machine. */
#ifndef AERO_HOST_RUNS_CMD_H
#define AERO_HOST_RUNS_CMD_H

/* Runs `aero-launch runs SUBCOMMAND ...` (argv[0] is "runs"); the exit status. */
int aero_runs_main(int argc, char **argv);

/* Runs `aero-launch sync [--tracker LIST] [--timeout DURATION] RUN` (argv[0] is
 * "sync") through aero-init's sync; its exit status. */
int aero_launch_sync_main(int argc, char **argv);

#endif
