/* The experiment container's securityContext in a Job: no_new_privs, the
 * runtime's default seccomp profile, and of the capabilities only those that
 * aero-init needs to set the experiment up plus those --caps gives it
 * (doc/security.md, "In Kubernetes"). */
#ifndef AERO_HOST_K8S_SECURITY_H
#define AERO_HOST_K8S_SECURITY_H

#include "k8s.h"

#include <cjson/cJSON.h>

/* 0 when job's --user, --caps and --allow-new-privs make a securityContext
 * (the names are capabilities, the numbers ids), else -1 with aero_error. */
int aero_k8s_security_check(const struct aero_k8s_job *job);

/* Whether --user is left to the kubelet (runAsUser) rather than to aero-init
 * (AERO_USER): a numeric user other than root, with no --caps to give. */
bool aero_k8s_user_by_kubelet(const struct aero_k8s_job *job);

/* Adds "securityContext" to container for a checked job; -1 when memory runs out. */
int aero_k8s_security_add(cJSON *container, const struct aero_k8s_job *job);

#endif
