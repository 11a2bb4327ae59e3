/* `aero-launch context`: the build context of HEAD, as a tar on stdout. */
#ifndef AERO_HOST_CONTEXT_CMD_H
#define AERO_HOST_CONTEXT_CMD_H

/* `aero-launch context [-C DIR] [-o FILE]`. Returns the exit status. */
int aero_context_main(int argc, char **argv);

#endif
