/* `aero-launch cache gc`: keeping the local artifact cache within a size. */
#ifndef AERO_HOST_CACHE_CMD_H
#define AERO_HOST_CACHE_CMD_H

/* Runs `aero-launch cache gc --max-size SIZE` (argv[0] is "cache"); the exit
 * status: 0, 2 usage, 74 the cache cannot be read or changed. */
int aero_cache_cmd(int argc, char **argv);

#endif
