/* `aero-launch run`: a tracked run in a container, or with --dev on the host. */
#ifndef AERO_HOST_RUN_CMD_H
#define AERO_HOST_RUN_CMD_H

/* `aero-launch run [OPTIONS] -- COMMAND [ARGS...]`. Returns the experiment's
 * exit status, or aero-launch's own (see status.h). */
int aero_run_main(int argc, char **argv);

#endif
