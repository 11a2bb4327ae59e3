/* The experiment's container as Kubernetes manifests hold it (a Job's pod,
 * an Argo container template): aero-init as the entry point, its settings as
 * AERO_* variables, the downward API's facts, secrets by reference, the
 * resources, the run directory's volume and the securityContext. */
#ifndef AERO_HOST_K8S_CONTAINER_H
#define AERO_HOST_K8S_CONTAINER_H

#include "k8s.h"

#include <cjson/cJSON.h>

/* The name of the run directory's volume. */
#define AERO_K8S_RUNS_VOLUME "aero-runs"

/* A new container called name that runs job (checked by aero_k8s_check) with
 * AERO_RUN_DIR=run_dir, the volume mounted at AERO_K8S_RUNS_MOUNT. NULL with
 * aero_error when memory runs out. */
cJSON *aero_k8s_container_new(const struct aero_k8s_job *job, const char *name,
                              const char *run_dir);

/* Appends NAME=VALUE to container's env. 0, or -1 when memory runs out. */
int aero_k8s_env_add(cJSON *container, const char *name, const char *value);

/* 0 when each variable of container's env is set once (a second value would
 * silently win in the pod); else -1 with aero_error naming it. */
int aero_k8s_env_unique(const cJSON *container);

/* Appends the run directory's volume for job (an emptyDir, or its claim) to
 * the array volumes. 0, or -1 when memory runs out. */
int aero_k8s_runs_volume_add(cJSON *volumes, const struct aero_k8s_job *job);

/* The pod's terminationGracePeriodSeconds: aero-init's grace period, the
 * margin, and the tracker's timeout when a tracker other than local is set. */
long aero_k8s_grace_seconds(const struct aero_k8s_job *job);

/* Adds "labels" (app.kubernetes.io/managed-by: aeromancy, which marks what
 * aero-launch made) to meta, and "annotations" {note: value} unless note is
 * NULL. 0, or -1 when memory runs out. */
int aero_k8s_labels_add(cJSON *meta, const char *note, const char *value);

/* Appends {"name": name} to array and returns it, or NULL when memory runs out. */
cJSON *aero_k8s_append_named(cJSON *array, const char *name);

/* Adds key: [items...] (NULL-terminated) to parent. 0, or -1 when memory runs out. */
int aero_k8s_add_strings(cJSON *parent, const char *key, const char *const *items);

#endif
