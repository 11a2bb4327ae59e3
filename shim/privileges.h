/* What the experiment may do, and what aero-init keeps for itself: the user
 * and groups the experiment runs as, its capability sets, no_new_privs and
 * the hermetic seccomp filter. See doc/security.md.
 *
 * Everything is decided in aero-init before anything starts
 * (aero_privileges_prepare): names resolved, capability sets computed, the
 * filter built, each refusal a clear error. The experiment's child, between
 * vfork and exec, only makes raw system calls with what was prepared
 * (aero_privileges_apply), and checks that the kernel agrees before it execs,
 * so the manifest's account (aero_privileges_describe) is what was applied. */
#ifndef AERO_SHIM_PRIVILEGES_H
#define AERO_SHIM_PRIVILEGES_H

#include "options.h"

#include <cjson/cJSON.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Capability sets as bit masks: bit N is capability N (the kernel's numbers). */
typedef uint64_t aero_capset;

/* The plan. Filled by aero_privileges_prepare, read-only afterwards. */
struct aero_privileges {
	/* The experiment's identity. */
	bool change_ids; /* switch to uid, gid and groups (else it keeps aero-init's) */
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* the supplementary groups, sorted, without repeats */
	size_t group_count;
	gid_t *groups_seen; /* room for group_count + 1 ids: the child reads them back here */
	char *user;         /* the user's name when /etc/passwd knows it, else NULL */
	char *home;         /* the HOME aero-init set for it, or NULL */

	/* The experiment's capabilities, as they are just before exec (see
	 * doc/security.md for exec's rules, which keep them as they are). */
	aero_capset caps;          /* effective, permitted and inheritable */
	aero_capset ambient;       /* the same, when the experiment is not root */
	aero_capset bounding;      /* its bounding set */
	aero_capset bounding_drop; /* what the child drops from aero-init's bounding set */
	bool keep_caps;            /* PR_SET_KEEPCAPS across the switch away from uid 0 */
	int last_cap;              /* the kernel's highest capability number */
	bool no_new_privs;         /* set PR_SET_NO_NEW_PRIVS */
	bool no_new_privs_seen;    /* what the experiment will have: set, or inherited */
	int seccomp_mode;          /* what it will have: 0 none, 1 strict, 2 filter */

	/* The hermetic filter, or NULL. */
	struct sock_filter *filter;
	unsigned short filter_len;

	/* aero-init's own capabilities after the experiment has started. */
	bool own_reduce;      /* it holds some, and drops the rest */
	bool own_bset_drop;   /* it may reduce its bounding set (CAP_SETPCAP) */
	aero_capset own_keep; /* what it keeps */
};

/* Why the child could not apply the plan, for the parent's message. */
enum aero_privileges_step {
	AERO_PRIV_OK = 0,
	AERO_PRIV_NO_NEW_PRIVS,
	AERO_PRIV_SECCOMP,
	AERO_PRIV_BOUNDING,
	AERO_PRIV_GROUPS,
	AERO_PRIV_GID,
	AERO_PRIV_KEEPCAPS,
	AERO_PRIV_UID,
	AERO_PRIV_CAPSET,
	AERO_PRIV_AMBIENT,
	AERO_PRIV_CHECK, /* applied, but the kernel reports something else */
};

/* Resolves --user (AERO_USER) from /etc/passwd and /etc/group, computes the
 * capability sets from --caps and what aero-init holds, builds the hermetic
 * filter, and sets HOME for the experiment. Call before any thread starts.
 * 0, or -1 with aero_error saying what is wrong and how to fix it. */
int aero_privileges_prepare(struct aero_privileges *p, const struct aero_init_options *opts);

/* Adds the plan to part (the manifest's run.privileges). 0, or -1 when out of memory. */
int aero_privileges_describe(const struct aero_privileges *p, cJSON *part);

/* Whether the experiment can reach files in dir (search permission on every
 * directory of the path), judged by its ids and capabilities. */
bool aero_privileges_can_reach(const struct aero_privileges *p, const char *dir);

/* Frees what the plan holds. */
void aero_privileges_free(struct aero_privileges *p);

/* In the experiment's child, after vfork: applies the plan with raw system
 * calls only, and checks the result. AERO_PRIV_OK, or the step that failed
 * with errno set. Async-signal-safe: allocates nothing, calls no library. */
enum aero_privileges_step aero_privileges_apply(const struct aero_privileges *p);

/* A short description of a step, for messages ("switching to the user's uid"). */
const char *aero_privileges_step_name(enum aero_privileges_step step);

/* Reduces the calling thread's capabilities to what aero-init keeps (each
 * thread has its own: call it on every thread). Nothing when own_reduce is
 * false. 0, or -1 with errno set. */
int aero_privileges_drop_own(const struct aero_privileges *p);

#endif
