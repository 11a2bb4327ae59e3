/* Users and groups from the text of /etc/passwd and /etc/group, parsed here:
 * a static aero-init cannot load NSS modules, and the image's files are what
 * the experiment's own tools (id, whoami) read too. */
#ifndef AERO_SHIM_USERDB_H
#define AERO_SHIM_USERDB_H

#include <stddef.h>
#include <sys/types.h>

struct aero_passwd_entry {
	char *name;
	uid_t uid;
	gid_t gid; /* the primary group */
	char *home;
};

/* Finds the first line of passwd text for name, or for uid when name is NULL.
 * 1 when found (entry filled; free it with aero_passwd_entry_free), 0 when
 * not, -1 with aero_error set when out of memory. Malformed lines and NIS
 * entries (+name, -name) are skipped. */
int aero_passwd_find(const char *text, const char *name, uid_t uid,
                     struct aero_passwd_entry *entry);

/* Frees what an entry holds. */
void aero_passwd_entry_free(struct aero_passwd_entry *entry);

/* Finds group name's gid in group text: 1 when found, 0 when not. */
int aero_group_find(const char *text, const char *name, gid_t *gid);

/* Appends to *gids (*count of them, realloc'd) the gid of each group whose
 * member list names user. 0, or -1 with aero_error set when out of memory. */
int aero_group_memberships(const char *text, const char *user, gid_t **gids, size_t *count);

/* Parses a whole number that fits an id (0 to 2^32-2; -1 means "no id" to the
 * kernel): 0 with *id set, or -1 when text is anything else. */
int aero_id_parse(const char *text, size_t len, unsigned *id);

#endif
