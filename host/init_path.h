/* Finding the aero-init that aero-launch runs on this host. */
#ifndef AERO_HOST_INIT_PATH_H
#define AERO_HOST_INIT_PATH_H

/* given when not NULL, else the aero-init beside aero-launch, else "aero-init"
 * (found on PATH when executed). malloc'd; NULL when out of memory. */
char *aero_init_path(const char *given);

#endif
