/* Carrying out the plan of privileges.h with raw system calls. In the
 * experiment's child this runs between vfork and exec, sharing aero-init's
 * memory and (as far as the C library knows) its threads: so nothing here
 * allocates, takes a lock or calls the C library's set*id(), which would
 * signal aero-init's other threads to change their ids too. */
#include "privileges.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BIT(cap) ((aero_capset)1 << (cap))

static long raw_prctl(int option, unsigned long a, unsigned long b)
{
	return syscall(SYS_prctl, option, a, b, 0UL, 0UL);
}

/* Sets the calling thread's effective, permitted and inheritable sets. */
static long set_capabilities(aero_capset effective, aero_capset permitted, aero_capset inheritable)
{
	struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		data[i].effective = (uint32_t)(effective >> (32 * i));
		data[i].permitted = (uint32_t)(permitted >> (32 * i));
		data[i].inheritable = (uint32_t)(inheritable >> (32 * i));
	}
	return syscall(SYS_capset, &header, data);
}

static long get_capabilities(aero_capset *effective, aero_capset *permitted,
                             aero_capset *inheritable)
{
	struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0, 0, 0}, {0, 0, 0}};
	const long rc = syscall(SYS_capget, &header, data);
	*effective = (aero_capset)data[1].effective << 32 | data[0].effective;
	*permitted = (aero_capset)data[1].permitted << 32 | data[0].permitted;
	*inheritable = (aero_capset)data[1].inheritable << 32 | data[0].inheritable;
	return rc;
}

/* Drops from the calling thread's bounding set every capability in drop. */
static long drop_bounding(aero_capset drop, int last_cap)
{
	for (int cap = 0; cap <= last_cap; cap++)
		if ((drop & BIT(cap)) != 0 && raw_prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0) < 0)
			return -1;
	return 0;
}

/* Each prctl that reads one capability's bit, as a set. */
static aero_capset read_bits(int option, unsigned long sub, int last_cap)
{
	aero_capset mask = 0;
	for (int cap = 0; cap <= last_cap; cap++) {
		const long on = option == PR_CAP_AMBIENT ? syscall(SYS_prctl, option, sub,
		                                                   (unsigned long)cap, 0UL, 0UL)
		                                         : raw_prctl(option, (unsigned long)cap, 0);
		if (on > 0)
			mask |= BIT(cap);
	}
	return mask;
}

static bool ids_are(const struct aero_privileges *p)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	if (syscall(SYS_getresuid, &ruid, &euid, &suid) < 0 ||
	    syscall(SYS_getresgid, &rgid, &egid, &sgid) < 0)
		return false;
	if (ruid != p->uid || euid != p->uid || suid != p->uid || rgid != p->gid ||
	    egid != p->gid || sgid != p->gid)
		return false;
	const long count = syscall(SYS_getgroups, (int)p->group_count + 1, p->groups_seen);
	if (count != (long)p->group_count)
		return false;
	for (size_t i = 0; i < p->group_count; i++)
		if (p->groups_seen[i] != p->groups[i])
			return false;
	return true;
}

/* What the kernel says now, against the plan (and so the manifest). */
static bool applied_as_planned(const struct aero_privileges *p)
{
	aero_capset effective, permitted, inheritable;
	if (get_capabilities(&effective, &permitted, &inheritable) < 0)
		return false;
	const aero_capset all = p->last_cap >= 63 ? ~(aero_capset)0 : BIT(p->last_cap + 1) - 1;
	const aero_capset ambient = read_bits(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, p->last_cap);
	return effective == p->caps && permitted == p->caps && inheritable == p->caps &&
	       read_bits(PR_CAPBSET_READ, 0, p->last_cap) == (p->bounding & all) &&
	       ambient == p->ambient &&
	       raw_prctl(PR_GET_NO_NEW_PRIVS, 0, 0) == (p->no_new_privs_seen ? 1 : 0) &&
	       raw_prctl(PR_GET_SECCOMP, 0, 0) == p->seccomp_mode && (!p->change_ids || ids_are(p));
}

static enum aero_privileges_step switch_ids(const struct aero_privileges *p)
{
	if (syscall(SYS_setgroups, p->group_count, p->groups) < 0)
		return AERO_PRIV_GROUPS;
	if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0)
		return AERO_PRIV_GID;
	/* Leaving uid 0 clears the permitted set unless asked to keep it; exec
	 * clears this flag again. */
	if (p->keep_caps && raw_prctl(PR_SET_KEEPCAPS, 1, 0) < 0)
		return AERO_PRIV_KEEPCAPS;
	if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
		return AERO_PRIV_UID;
	return AERO_PRIV_OK;
}

enum aero_privileges_step aero_privileges_apply(const struct aero_privileges *p)
{
	/* First no_new_privs and the filter, which needs it (or CAP_SYS_ADMIN,
	 * still held here); the filter spares every call made below. */
	if (p->no_new_privs && raw_prctl(PR_SET_NO_NEW_PRIVS, 1, 0) < 0)
		return AERO_PRIV_NO_NEW_PRIVS;
	if (p->filter != NULL) {
		const struct sock_fprog prog = {.len = p->filter_len, .filter = p->filter};
		if (raw_prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, (unsigned long)&prog) < 0)
			return AERO_PRIV_SECCOMP;
	}
	/* The bounding set while CAP_SETPCAP is still effective. */
	if (drop_bounding(p->bounding_drop, p->last_cap) < 0)
		return AERO_PRIV_BOUNDING;
	if (p->change_ids) {
		const enum aero_privileges_step step = switch_ids(p);
		if (step != AERO_PRIV_OK)
			return step;
	}
	if (set_capabilities(p->caps, p->caps, p->caps) < 0)
		return AERO_PRIV_CAPSET;
	for (int cap = 0; cap <= p->last_cap; cap++)
		if ((p->ambient & BIT(cap)) != 0 &&
		    syscall(SYS_prctl, PR_CAP_AMBIENT, (unsigned long)PR_CAP_AMBIENT_RAISE,
		            (unsigned long)cap, 0UL, 0UL) < 0)
			return AERO_PRIV_AMBIENT;
	if (!applied_as_planned(p)) {
		errno = EPERM;
		return AERO_PRIV_CHECK;
	}
	return AERO_PRIV_OK;
}

const char *aero_privileges_step_name(enum aero_privileges_step step)
{
	switch (step) {
	case AERO_PRIV_OK:
		return "nothing";
	case AERO_PRIV_NO_NEW_PRIVS:
		return "setting no_new_privs";
	case AERO_PRIV_SECCOMP:
		return "installing the hermetic seccomp filter";
	case AERO_PRIV_BOUNDING:
		return "reducing the capability bounding set";
	case AERO_PRIV_GROUPS:
		return "setting the user's supplementary groups";
	case AERO_PRIV_GID:
		return "switching to the user's group";
	case AERO_PRIV_KEEPCAPS:
		return "keeping capabilities across the switch of user";
	case AERO_PRIV_UID:
		return "switching to the user";
	case AERO_PRIV_CAPSET:
		return "setting the capability sets";
	case AERO_PRIV_AMBIENT:
		return "raising the ambient capabilities";
	case AERO_PRIV_CHECK:
		return "checking the privileges applied (the kernel reports others than asked)";
	}
	return "?";
}

int aero_privileges_drop_own(const struct aero_privileges *p)
{
	if (!p->own_reduce)
		return 0;
	if (p->own_bset_drop && drop_bounding(~p->own_keep, p->last_cap) < 0)
		return -1;
	if (syscall(SYS_prctl, PR_CAP_AMBIENT, (unsigned long)PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL,
	            0UL) < 0 &&
	    errno != EINVAL)
		return -1;
	return set_capabilities(p->own_keep, p->own_keep, 0) < 0 ? -1 : 0;
}
