/* Artifact requests served through the channel: a process of the experiment
 * asks (`{"type":"artifact","args":[...],"cwd":...}` with its stdout and
 * stderr passed along, doc/channel.md), and aero-init runs `aero-init
 * artifact ARGS` as a worker of its own, outside whatever confines the
 * experiment, with the client's stdout and stderr as the worker's. When the
 * worker ends, the client is told its exit status. */
#ifndef AERO_SHIM_ARTIFACT_SERVE_H
#define AERO_SHIM_ARTIFACT_SERVE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <sys/types.h>

struct aero_artifact_workers;

/* A new, empty table of workers; NULL when out of memory. */
struct aero_artifact_workers *aero_artifact_workers_new(const char *run_dir);

/* Starts a worker for the request msg (parsed), answering on client_fd, which
 * the table takes over (it is closed when the worker ends); out_fd and err_fd
 * (or -1 for /dev/null) become the worker's stdout and stderr and are closed
 * here; uid and gid are the client's. NULL, or the reason it was refused
 * (the caller answers with it and keeps client_fd). */
const char *aero_artifact_workers_start(struct aero_artifact_workers *workers, const cJSON *msg,
                                        int client_fd, int out_fd, int err_fd, uid_t uid,
                                        gid_t gid);

/* A child ended: when it was a worker, tells its client the exit status and
 * returns true. */
bool aero_artifact_workers_reaped(struct aero_artifact_workers *workers, pid_t pid,
                                  int wait_status);

/* How many workers are still running. */
size_t aero_artifact_workers_running(const struct aero_artifact_workers *workers);

/* Frees the table, closing the connections of workers still running. */
void aero_artifact_workers_free(struct aero_artifact_workers *workers);

#endif
