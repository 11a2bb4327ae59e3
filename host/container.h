/* One container's life through the Engine API: create, start, follow its
 * output and exit status with signals forwarded, remove. */
#ifndef AERO_HOST_CONTAINER_H
#define AERO_HOST_CONTAINER_H

#include "engine.h"

#include <cjson/cJSON.h>
#include <signal.h>

/* POST /containers/create?name=name with body; *id gets the container's id
 * (malloc'd). 0, or -(exit status) with aero_error set. */
int aero_container_create(const struct aero_engine *eng, const char *name, const cJSON *body,
                          char **id);

/* Starts the container and follows it to its end: its stdout and stderr are
 * written to ours (demultiplexed), SIGINT, SIGTERM, SIGHUP and SIGQUIT
 * (blocked by the caller and read from sigfd) are forwarded, a third SIGINT
 * or SIGTERM kills it. *exit_status gets its exit status. 0, or -(exit
 * status) with aero_error set (AERO_EXIT_GPU when the engine has no GPU runtime). */
int aero_container_run(const struct aero_engine *eng, const char *id, int sigfd, int *exit_status);

/* DELETE /containers/{id}?force=1&v=1; failures are only logged. */
void aero_container_remove(const struct aero_engine *eng, const char *id);

#endif
