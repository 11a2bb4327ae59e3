/* An Argo Workflow for a pipeline (doc/argo.md): one DAG whose tasks are the
 * pipeline's, with their dependencies, and one container template per task
 * that runs it under aero-init as `aero-launch k8s job` would. A task's
 * outputs reach the tasks that take them as the exact versions it put: each
 * is an output parameter read from RUN_DIR/outputs/NAME (aero-init writes it
 * on every put) and handed on as AERO_ARTIFACT_OVERRIDES=NAME=sha256:DIGEST. */
#ifndef AERO_HOST_PIPELINE_ARGO_H
#define AERO_HOST_PIPELINE_ARGO_H

#include "k8s.h"
#include "pipeline.h"

#include <cjson/cJSON.h>

/* Builds the Workflow for p into *out (the caller cJSON_Deletes it). shared
 * holds what every container gets (the options of k8s_opts.h; its command,
 * image, resources and seed are ignored); images[i] is the image task i runs,
 * already resolved. 0, or -1 with aero_error naming what Kubernetes or Argo
 * would refuse. */
int aero_pipeline_argo_build(const struct aero_pipeline *p, const struct aero_k8s_job *shared,
                             char *const *images, cJSON **out);

#endif
