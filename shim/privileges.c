/* The plan of the experiment's privileges, made in aero-init (see
 * privileges.h); privileges_apply.c carries it out. */
#include "privileges.h"

#include "capnames.h"
#include "error.h"
#include "file.h"
#include "hermetic.h"
#include "log.h"
#include "userdb.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSWD_FILE "/etc/passwd"
#define GROUP_FILE "/etc/group"
/* More than any real /etc/passwd or /etc/group. */
#define USERDB_MAX ((size_t)64 * 1024 * 1024)

#define BIT(cap) ((aero_capset)1 << (cap))

/* What aero-init holds now, from the kernel. */
struct own_state {
	aero_capset effective, permitted, inheritable, bounding;
	gid_t *groups;
	size_t group_count;
};

static aero_capset flag_mask(cap_t caps, cap_flag_t flag, int last)
{
	aero_capset mask = 0;
	for (int cap = 0; cap <= last; cap++) {
		cap_flag_value_t on = CAP_CLEAR;
		if (cap_get_flag(caps, cap, flag, &on) == 0 && on == CAP_SET)
			mask |= BIT(cap);
	}
	return mask;
}

static int read_own_state(struct own_state *own, int last)
{
	memset(own, 0, sizeof(*own));
	cap_t caps = cap_get_proc();
	if (caps == NULL)
		return aero_error_set("cannot read aero-init's capabilities: %s", strerror(errno));
	own->effective = flag_mask(caps, CAP_EFFECTIVE, last);
	own->permitted = flag_mask(caps, CAP_PERMITTED, last);
	own->inheritable = flag_mask(caps, CAP_INHERITABLE, last);
	cap_free(caps);
	for (int cap = 0; cap <= last; cap++)
		if (cap_get_bound(cap) > 0)
			own->bounding |= BIT(cap);
	const int count = getgroups(0, NULL);
	if (count < 0)
		return aero_error_set("cannot read aero-init's groups: %s", strerror(errno));
	own->groups = calloc((size_t)count + 1, sizeof(gid_t));
	if (own->groups == NULL)
		return aero_error_set("out of memory");
	const int got = getgroups(count, own->groups);
	if (got < 0)
		return aero_error_set("cannot read aero-init's groups: %s", strerror(errno));
	own->group_count = (size_t)got;
	return 0;
}

static int compare_gids(const void *a, const void *b)
{
	const gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorted and without repeats, as the kernel keeps a group list. */
static size_t sort_unique(gid_t *gids, size_t count)
{
	if (count == 0)
		return 0;
	qsort(gids, count, sizeof(gid_t), compare_gids);
	size_t n = 1;
	for (size_t i = 1; i < count; i++)
		if (gids[i] != gids[n - 1])
			gids[n++] = gids[i];
	return n;
}

/* A file of the user database, or NULL with aero_error naming it. */
static char *read_userdb(const char *path)
{
	char *text = aero_file_read(path, USERDB_MAX, NULL);
	if (text == NULL)
		aero_error_set("cannot read %s: %s", path, aero_error_last());
	return text;
}

/* GROUP of USER:GROUP: a number, or a name from /etc/group. */
static int resolve_group(const char *spec, const char *group, gid_t *gid)
{
	unsigned id;
	if (aero_id_parse(group, strlen(group), &id) == 0) {
		*gid = id;
		return 0;
	}
	char *text = read_userdb(GROUP_FILE);
	if (text == NULL)
		return aero_error_set("--user %s: %s; give the group as a number", spec,
		                      aero_error_last());
	const int found = aero_group_find(text, group, gid);
	free(text);
	if (found != 1)
		return aero_error_set("--user %s: no group '%s' in " GROUP_FILE
		                      "; give it as a number or add it to the image",
		                      spec, group);
	return 0;
}

/* USER of USER:GROUP: a number (known to /etc/passwd or not, as Docker takes
 * it: then gid 0 and HOME /), or a name that /etc/passwd must know. */
static int resolve_passwd(struct aero_privileges *p, const char *spec, const char *user)
{
	unsigned id;
	const bool numeric = aero_id_parse(user, strlen(user), &id) == 0;
	char *text = aero_file_read(PASSWD_FILE, USERDB_MAX, NULL);
	if (text == NULL && !numeric)
		return aero_error_set("--user %s: cannot read " PASSWD_FILE " to find '%s' (%s); "
		                      "give the user as a number",
		                      spec, user, aero_error_last());
	struct aero_passwd_entry entry;
	const int found =
	        text != NULL ? aero_passwd_find(text, numeric ? NULL : user, id, &entry) : 0;
	free(text);
	if (found < 0)
		return -1;
	if (found == 0 && !numeric)
		return aero_error_set("--user %s: no user '%s' in " PASSWD_FILE
		                      "; give it as a number or add the user to the image",
		                      spec, user);
	if (found == 0) {
		p->uid = id;
		p->gid = 0;
		p->home = strdup("/");
		return p->home != NULL ? 0 : aero_error_set("out of memory");
	}
	p->uid = entry.uid;
	p->gid = entry.gid;
	p->user = entry.name;
	p->home = entry.home;
	return 0;
}

/* The supplementary groups: the primary group, and those of /etc/group that
 * list the user by name unless a GROUP was given (as runc does). */
static int resolve_groups(struct aero_privileges *p, bool group_given)
{
	gid_t *gids = malloc(sizeof(gid_t));
	size_t count = 1;
	if (gids == NULL)
		return aero_error_set("out of memory");
	gids[0] = p->gid;
	if (!group_given && p->user != NULL) {
		char *text = aero_file_read(GROUP_FILE, USERDB_MAX, NULL);
		const int rc =
		        text != NULL ? aero_group_memberships(text, p->user, &gids, &count) : 0;
		free(text);
		if (rc < 0) {
			free(gids);
			return -1;
		}
	}
	p->group_count = sort_unique(gids, count);
	p->groups = gids;
	p->groups_seen = calloc(p->group_count + 1, sizeof(gid_t));
	return p->groups_seen != NULL ? 0 : aero_error_set("out of memory");
}

/* HOME for the experiment: the user's, unless the user set one of their own. */
static int set_home(struct aero_privileges *p)
{
	const char *home = getenv("HOME");
	if ((home != NULL && *home != '\0' && strcmp(home, "/root") != 0) || p->home == NULL ||
	    *p->home == '\0') {
		free(p->home); /* recorded only when set */
		p->home = NULL;
		return 0;
	}
	return setenv("HOME", p->home, 1) == 0 ? 0 : aero_error_set("cannot set HOME");
}

static bool same_groups(const struct aero_privileges *p, const struct own_state *own)
{
	gid_t *mine = malloc((own->group_count + 1) * sizeof(gid_t));
	if (mine == NULL)
		return false;
	if (own->group_count > 0)
		memcpy(mine, own->groups, own->group_count * sizeof(gid_t));
	const size_t n = sort_unique(mine, own->group_count);
	const bool same = n == p->group_count && memcmp(mine, p->groups, n * sizeof(gid_t)) == 0;
	free(mine);
	return same;
}

static int plan_identity(struct aero_privileges *p, const struct aero_init_options *opts,
                         const struct own_state *own)
{
	if (opts->user == NULL) {
		/* It keeps aero-init's ids: recorded as they are. */
		p->uid = getuid();
		p->gid = getgid();
		p->groups = malloc((own->group_count + 1) * sizeof(gid_t));
		p->groups_seen = calloc(own->group_count + 1, sizeof(gid_t));
		if (p->groups == NULL || p->groups_seen == NULL)
			return aero_error_set("out of memory");
		if (own->group_count > 0)
			memcpy(p->groups, own->groups, own->group_count * sizeof(gid_t));
		p->group_count = sort_unique(p->groups, own->group_count);
		return 0;
	}
	const char *spec = opts->user;
	const char *colon = strchr(spec, ':');
	char *user = strndup(spec, colon != NULL ? (size_t)(colon - spec) : strlen(spec));
	if (user == NULL)
		return aero_error_set("out of memory");
	int rc = resolve_passwd(p, spec, user);
	free(user);
	if (rc == 0 && colon != NULL)
		rc = resolve_group(spec, colon + 1, &p->gid);
	if (rc == 0)
		rc = resolve_groups(p, colon != NULL);
	if (rc == 0)
		rc = set_home(p);
	if (rc < 0)
		return -1;
	p->change_ids = p->uid != getuid() || p->uid != geteuid() || p->gid != getgid() ||
	                p->gid != getegid() || !same_groups(p, own);
	if (p->change_ids && (own->effective & (BIT(CAP_SETUID) | BIT(CAP_SETGID))) !=
	                             (BIT(CAP_SETUID) | BIT(CAP_SETGID)))
		return aero_error_set("--user %s: aero-init runs as uid %u without CAP_SETUID and "
		                      "CAP_SETGID, so it cannot switch users; run it as root, or "
		                      "drop --user",
		                      spec, (unsigned)geteuid());
	return 0;
}

/* The first capability in mask, by name, for messages. */
static char *first_name(aero_capset mask)
{
	for (int cap = 0; cap < 64; cap++)
		if (mask & BIT(cap))
			return cap_to_name(cap);
	return NULL;
}

static int refuse_caps(aero_capset missing, const char *why)
{
	char *name = first_name(missing);
	aero_error_set("--caps: aero-init cannot give the experiment %s: %s", name ? name : "?",
	               why);
	cap_free(name);
	return -1;
}

static int plan_caps(struct aero_privileges *p, const struct aero_init_options *opts,
                     const struct own_state *own)
{
	const aero_capset wanted = opts->caps;
	if ((wanted & ~own->permitted) != 0 || (wanted & ~own->bounding) != 0)
		return refuse_caps(wanted & ~(own->permitted & own->bounding),
		                   "it does not hold it itself (Docker: --cap-add; Kubernetes: "
		                   "securityContext.capabilities.add)");
	p->caps = wanted;
	p->ambient = p->uid != 0 ? wanted : 0;
	p->keep_caps = p->change_ids && p->uid != 0 && wanted != 0;
	const bool can_drop = (own->effective & BIT(CAP_SETPCAP)) != 0;
	p->bounding_drop = can_drop ? own->bounding & ~wanted : 0;
	p->bounding = own->bounding & ~p->bounding_drop;
	/* Root regains its bounding set at exec: it must be no more than asked. */
	if (p->uid == 0 && (p->bounding & ~wanted) != 0)
		return refuse_caps(
		        p->bounding & ~wanted,
		        "as root it would keep its bounding set, which aero-init cannot "
		        "reduce without CAP_SETPCAP; add CAP_SETPCAP or run it with --user");
	p->no_new_privs = !opts->allow_new_privs;
	p->no_new_privs_seen = p->no_new_privs || prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
	if (opts->hermetic && !p->no_new_privs_seen && (own->effective & BIT(CAP_SYS_ADMIN)) == 0)
		return aero_error_set("--hermetic with --allow-new-privs needs CAP_SYS_ADMIN to "
		                      "install the seccomp filter; drop --allow-new-privs");
	return 0;
}

/* A directory that aero-init must go on writing: does it need
 * CAP_DAC_OVERRIDE for it, being someone else's? */
static bool owned_by_another(const char *path)
{
	struct stat st;
	return path != NULL && stat(path, &st) == 0 && st.st_uid != geteuid();
}

/* What aero-init keeps once the experiment runs (doc/security.md says why). */
static void plan_own(struct aero_privileges *p, const struct aero_init_options *opts,
                     const struct own_state *own)
{
	aero_capset keep = 0;
	/* Its processes may run as another user: signalling them (the grace
	 * period), and workers that act as the requesting client. */
	if (p->uid != geteuid() || !p->no_new_privs_seen || (p->caps & BIT(CAP_SETUID)) != 0)
		keep |= BIT(CAP_KILL) | BIT(CAP_SETUID) | BIT(CAP_SETGID);
	/* The run directory, the artifact cache or the store mounted from a host
	 * user's directory. */
	const char *store = getenv("AERO_STORE");
	if (owned_by_another(opts->run_dir) || owned_by_another(getenv("AERO_CACHE_DIR")) ||
	    (store != NULL && strncmp(store, "file://", 7) == 0 && owned_by_another(store + 7)))
		keep |= BIT(CAP_DAC_OVERRIDE);
	p->own_keep = keep & own->permitted;
	p->own_reduce = own->permitted != 0 || own->inheritable != 0;
	p->own_bset_drop = (own->effective & BIT(CAP_SETPCAP)) != 0;
}

int aero_privileges_prepare(struct aero_privileges *p, const struct aero_init_options *opts)
{
	memset(p, 0, sizeof(*p));
	p->last_cap = aero_caps_last();
	struct own_state own;
	int rc = read_own_state(&own, p->last_cap);
	if (rc == 0)
		rc = plan_identity(p, opts, &own);
	if (rc == 0)
		rc = plan_caps(p, opts, &own);
	if (rc == 0)
		plan_own(p, opts, &own);
	free(own.groups);
	const int mode = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	p->seccomp_mode = opts->hermetic ? 2 : (mode > 0 ? mode : 0);
	if (rc == 0 && opts->hermetic)
		rc = aero_hermetic_filter_build(&p->filter, &p->filter_len);
	if (rc < 0) {
		aero_privileges_free(p);
		return -1;
	}
	return 0;
}

static int add_caps(cJSON *caps, const char *name, aero_capset mask)
{
	cJSON *names = aero_caps_to_json(mask);
	if (names == NULL || !cJSON_AddItemToObject(caps, name, names)) {
		cJSON_Delete(names);
		return -1;
	}
	return 0;
}

int aero_privileges_describe(const struct aero_privileges *p, cJSON *part)
{
	static const char *const modes[] = {"none", "strict", "filter"};
	cJSON *groups = cJSON_AddArrayToObject(part, "groups");
	for (size_t i = 0; groups != NULL && i < p->group_count; i++)
		if (!cJSON_AddItemToArray(groups, cJSON_CreateNumber(p->groups[i])))
			groups = NULL;
	cJSON *caps = cJSON_AddObjectToObject(part, "capabilities");
	if (groups == NULL || caps == NULL ||
	    cJSON_AddNumberToObject(part, "uid", p->uid) == NULL ||
	    cJSON_AddNumberToObject(part, "gid", p->gid) == NULL ||
	    (p->user != NULL && cJSON_AddStringToObject(part, "user", p->user) == NULL) ||
	    (p->home != NULL && cJSON_AddStringToObject(part, "home", p->home) == NULL) ||
	    add_caps(caps, "effective", p->caps) < 0 || add_caps(caps, "permitted", p->caps) < 0 ||
	    add_caps(caps, "inheritable", p->caps) < 0 ||
	    add_caps(caps, "bounding", p->bounding) < 0 ||
	    add_caps(caps, "ambient", p->ambient) < 0 ||
	    cJSON_AddBoolToObject(part, "no_new_privs", p->no_new_privs_seen) == NULL ||
	    cJSON_AddStringToObject(
	            part, "seccomp",
	            modes[p->seccomp_mode >= 0 && p->seccomp_mode <= 2 ? p->seccomp_mode : 0]) ==
	            NULL ||
	    cJSON_AddBoolToObject(part, "hermetic", p->filter != NULL) == NULL ||
	    add_caps(part, "aero_init_capabilities", p->own_reduce ? p->own_keep : 0) < 0)
		return aero_error_set("out of memory");
	return 0;
}

/* Search permission on one directory, as the kernel judges it (ACLs aside). */
static bool may_search(const struct aero_privileges *p, const struct stat *st)
{
	if (p->uid == st->st_uid)
		return (st->st_mode & S_IXUSR) != 0;
	bool in_group = p->gid == st->st_gid;
	for (size_t i = 0; i < p->group_count && !in_group; i++)
		in_group = p->groups[i] == st->st_gid;
	return (st->st_mode & (in_group ? S_IXGRP : S_IXOTH)) != 0;
}

bool aero_privileges_can_reach(const struct aero_privileges *p, const char *dir)
{
	if ((p->caps & (BIT(CAP_DAC_OVERRIDE) | BIT(CAP_DAC_READ_SEARCH))) != 0)
		return true;
	char *path = realpath(dir, NULL);
	if (path == NULL)
		return false;
	bool reach = true;
	/* "/", "/a", "/a/b": each directory on the way, then dir itself. */
	for (char *slash = path; reach && slash != NULL; slash = strchr(slash + 1, '/')) {
		const char saved = slash[1];
		slash[1] = '\0';
		struct stat st;
		reach = stat(path, &st) == 0 && may_search(p, &st);
		slash[1] = saved;
	}
	struct stat st;
	reach = reach && stat(path, &st) == 0 && may_search(p, &st);
	free(path);
	return reach;
}

void aero_privileges_free(struct aero_privileges *p)
{
	free(p->groups);
	free(p->groups_seen);
	free(p->user);
	free(p->home);
	free(p->filter);
	memset(p, 0, sizeof(*p));
}
