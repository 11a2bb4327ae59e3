/* `aero-launch rerun`: a past run again, from its commit, image, seed and
 * inputs, compared with the original. */
#ifndef AERO_HOST_RERUN_CMD_H
#define AERO_HOST_RERUN_CMD_H

/* Runs `aero-launch rerun [OPTIONS] RUN [-- COMMAND...]` (argv[0] is "rerun");
 * the exit status (see aero-launch(1)). */
int aero_rerun_main(int argc, char **argv);

#endif
