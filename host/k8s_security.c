/* The container's securityContext: what the kubelet gives aero-init, which
 * is all aero-init can hand on to the experiment (doc/security.md). */
#include "k8s_security.h"

#include "error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BIT(cap) ((uint64_t)1 << (cap))
/* The ids Kubernetes takes for runAsUser and runAsGroup. */
#define MAX_K8S_ID 2147483647UL

/* capabilities(7) by number, as Kubernetes writes them (no CAP_ prefix). */
static const char *const cap_names[] = {
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
};
#define CAP_COUNT (sizeof(cap_names) / sizeof(cap_names[0]))
enum { CHOWN = 0, DAC_OVERRIDE = 1, KILL = 5, SETGID = 6, SETUID = 7, SETPCAP = 8, SYS_ADMIN = 21 };

/* One name of --caps, with or without cap_, in any case. */
static int cap_number(const char *name, size_t length)
{
	if (length >= 4 && strncasecmp(name, "cap_", 4) == 0) {
		name += 4;
		length -= 4;
	}
	for (size_t i = 0; i < CAP_COUNT; i++)
		if (strlen(cap_names[i]) == length && strncasecmp(cap_names[i], name, length) == 0)
			return (int)i;
	return -1;
}

/* --caps as a mask (aero-init's syntax: comma- or space-separated, or none). */
static int caps_mask(const char *list, uint64_t *mask)
{
	*mask = 0;
	if (list == NULL || strcasecmp(list, "none") == 0)
		return 0;
	for (const char *p = list; *p != '\0';) {
		p += strspn(p, ", ");
		const size_t length = strcspn(p, ", ");
		if (length == 0)
			break;
		const int cap = cap_number(p, length);
		if (cap < 0)
			return aero_error_set(
			        "--caps: '%.*s' is not a capability (see capabilities(7): "
			        "cap_net_bind_service, cap_sys_ptrace, ...)",
			        (int)length, p);
		*mask |= BIT(cap);
		p += length;
	}
	return 0;
}

/* A decimal id Kubernetes takes, of the whole of text[0..length). */
static bool parse_id(const char *text, size_t length, unsigned long *id)
{
	if (length == 0 || length > 10 || strspn(text, "0123456789") < length)
		return false;
	char digits[11];
	memcpy(digits, text, length);
	digits[length] = '\0';
	*id = strtoul(digits, NULL, 10);
	return *id <= MAX_K8S_ID;
}

/* --user as runAsUser and runAsGroup; group is -1 when none was given.
 * false when it is not numbers (then it is aero-init's to resolve). */
static bool numeric_user(const char *user, unsigned long *uid, long *group)
{
	const char *colon = strchr(user, ':');
	const size_t length = colon != NULL ? (size_t)(colon - user) : strlen(user);
	unsigned long gid = 0;
	if (!parse_id(user, length, uid) ||
	    (colon != NULL && !parse_id(colon + 1, strlen(colon + 1), &gid)))
		return false;
	*group = colon != NULL ? (long)gid : -1;
	return true;
}

bool aero_k8s_user_by_kubelet(const struct aero_k8s_job *job)
{
	uint64_t caps = 0;
	unsigned long uid = 0;
	long gid = -1;
	return job->user != NULL && numeric_user(job->user, &uid, &gid) && uid != 0 &&
	       caps_mask(job->caps, &caps) == 0 && caps == 0;
}

int aero_k8s_security_check(const struct aero_k8s_job *job)
{
	uint64_t caps = 0;
	if (caps_mask(job->caps, &caps) < 0)
		return -1;
	/* aero-init's own rule: without no_new_privs only CAP_SYS_ADMIN lets it
	 * install a seccomp filter. */
	if (job->hermetic && job->allow_new_privs && (caps & BIT(SYS_ADMIN)) == 0)
		return aero_error_set("--hermetic with --allow-new-privs needs CAP_SYS_ADMIN to "
		                      "install the seccomp filter; drop --allow-new-privs");
	return 0;
}

/* What the kubelet must give aero-init: the experiment's --caps, and, when
 * aero-init switches users, what that takes (and keeps: doc/security.md);
 * CAP_SETPCAP with any of them, so that the experiment's bounding set is
 * reduced to --caps again. */
static uint64_t needed_caps(const struct aero_k8s_job *job)
{
	uint64_t caps = 0;
	(void)caps_mask(job->caps, &caps);
	uint64_t own = 0;
	if (job->user != NULL)
		own |= BIT(SETUID) | BIT(SETGID) | BIT(CHOWN) | BIT(KILL);
	/* A claim may belong to another user; the run directory is written as root. */
	if (job->runs_pvc != NULL)
		own |= BIT(DAC_OVERRIDE);
	if (own != 0)
		own |= BIT(SETPCAP);
	return caps | own;
}

static int add_names(cJSON *parent, const char *key, uint64_t mask)
{
	cJSON *array = cJSON_AddArrayToObject(parent, key);
	for (size_t i = 0; array != NULL && i < CAP_COUNT; i++) {
		if ((mask & BIT(i)) == 0)
			continue;
		cJSON *name = cJSON_CreateString(cap_names[i]);
		if (name == NULL || !cJSON_AddItemToArray(array, name)) {
			cJSON_Delete(name);
			return -1;
		}
	}
	return array != NULL ? 0 : -1;
}

int aero_k8s_security_add(cJSON *container, const struct aero_k8s_job *job)
{
	const bool by_kubelet = aero_k8s_user_by_kubelet(job);
	const uint64_t add = by_kubelet ? 0 : needed_caps(job);
	cJSON *sc = cJSON_AddObjectToObject(container, "securityContext");
	cJSON *caps = sc != NULL && cJSON_AddBoolToObject(sc, "allowPrivilegeEscalation",
	                                                  job->allow_new_privs) != NULL
	                      ? cJSON_AddObjectToObject(sc, "capabilities")
	                      : NULL;
	cJSON *drop = caps != NULL ? cJSON_AddArrayToObject(caps, "drop") : NULL;
	cJSON *all = cJSON_CreateString("ALL");
	if (drop == NULL || all == NULL || !cJSON_AddItemToArray(drop, all)) {
		cJSON_Delete(all);
		return -1;
	}
	if (add != 0 && add_names(caps, "add", add) < 0)
		return -1;
	if (by_kubelet) {
		unsigned long uid = 0;
		long gid = -1;
		(void)numeric_user(job->user, &uid, &gid);
		if (cJSON_AddNumberToObject(sc, "runAsUser", (double)uid) == NULL ||
		    (gid >= 0 && cJSON_AddNumberToObject(sc, "runAsGroup", (double)gid) == NULL) ||
		    cJSON_AddTrueToObject(sc, "runAsNonRoot") == NULL)
			return -1;
	}
	cJSON *seccomp = cJSON_AddObjectToObject(sc, "seccompProfile");
	return seccomp != NULL && cJSON_AddStringToObject(seccomp, "type", "RuntimeDefault") != NULL
	               ? 0
	               : -1;
}
