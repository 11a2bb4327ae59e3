/* Kubernetes Job manifests for one experiment: the image by digest, aero-init
 * as the entry point with its settings as AERO_* variables, the downward API's
 * facts, secrets only by reference, resources, a least-privilege
 * securityContext, and no retries. */
#ifndef AERO_HOST_K8S_H
#define AERO_HOST_K8S_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Where the run directory's volume is mounted in the container. */
#define AERO_K8S_RUNS_MOUNT "/var/lib/aeromancy/runs"
/* What the pod gets beyond aero-init's grace period, to record the end of the run. */
#define AERO_K8S_GRACE_MARGIN_S 30
/* aero-init's default --tracker-timeout, in seconds (shim/options.h). */
#define AERO_K8S_TRACKER_TIMEOUT_S 60

struct aero_k8s_secret {
	const char *env;    /* the variable the container sees */
	const char *secret; /* the Secret's name */
	const char *key;    /* the key in it */
};

struct aero_k8s_job {
	const char *name;      /* the Job's name (a DNS label) */
	const char *namespace; /* NULL for the context's */
	const char *image;     /* a checked reference, by digest or by tag */
	char **command;        /* the experiment, NULL-terminated */
	const char *run_id;    /* AERO_RUN_ID, or NULL: aero-init draws one */
	const char *cpu;       /* a CPU quantity ("2", "500m") or NULL */
	const char *memory;    /* a memory quantity ("8Gi") or NULL */
	long gpus;             /* nvidia.com/gpu, 0 for none */
	long grace_ms;         /* aero-init's grace period */
	const char *tracker;
	const char *store;           /* AERO_STORE, or NULL for aero-init's default */
	const char *service_account; /* the pod's serviceAccountName, or NULL */
	const char *seed;            /* decimal, or NULL */
	const char *user;            /* --user: AERO_USER, or runAsUser (k8s_security.h), or NULL */
	const char *caps;            /* AERO_CAPS, or NULL */
	bool hermetic;               /* AERO_HERMETIC=1 */
	bool allow_new_privs;        /* AERO_ALLOW_NEW_PRIVS=1 and allowPrivilegeEscalation */
	const char *runs_pvc; /* a PersistentVolumeClaim for the runs, or NULL for an emptyDir */
	const char **env;     /* NAME=VALUE items, count env_count */
	size_t env_count;
	const struct aero_k8s_secret *secrets;
	size_t secret_count;
};

/* Builds the Job's manifest into *out (the caller cJSON_Deletes it). Returns 0, or
 * -1 with aero_error naming the setting Kubernetes would refuse and why. */
int aero_k8s_job_build(const struct aero_k8s_job *job, cJSON **out);

/* 0 when what every container of job would hold is something Kubernetes takes
 * (names, quantities, variables, secrets, the securityContext); else -1 with
 * aero_error naming the setting. */
int aero_k8s_check(const struct aero_k8s_job *job);

/* 0 when text is a DNS-1123 label of at most 63 characters, else -1 with aero_error. */
int aero_k8s_check_label(const char *what, const char *text);

/* 0 when text is a Kubernetes quantity of the kind given ("cpu" or "memory"). */
int aero_k8s_check_quantity(const char *what, const char *text);

#endif
