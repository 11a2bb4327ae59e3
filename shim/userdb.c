#include "userdb.h"

#include "error.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The most fields a line of either file has: passwd's seven. */
#define MAX_FIELDS 7

struct span {
	const char *start;
	size_t len;
};

int aero_id_parse(const char *text, size_t len, unsigned *id)
{
	if (len == 0 || len > 10)
		return -1;
	uint64_t value = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		value = value * 10 + (uint64_t)(text[i] - '0');
	}
	if (value >= UINT32_MAX)
		return -1;
	*id = (unsigned)value;
	return 0;
}

/* Splits the line [line, line+len) at its colons into at most max fields;
 * returns how many there are (more than max when the line has more). */
static size_t split_fields(const char *line, size_t len, struct span *fields, size_t max)
{
	size_t n = 0;
	const char *start = line;
	const char *end = line + len;
	for (;;) {
		const char *colon = memchr(start, ':', (size_t)(end - start));
		const char *stop = colon != NULL ? colon : end;
		if (n < max)
			fields[n] = (struct span){start, (size_t)(stop - start)};
		n++;
		if (colon == NULL)
			return n;
		start = colon + 1;
	}
}

static bool span_is(struct span s, const char *text)
{
	return s.len == strlen(text) && memcmp(s.start, text, s.len) == 0;
}

/* Calls visit for each line with exactly `count` fields whose name is neither
 * empty nor a NIS entry, until visit returns nonzero; returns that value. */
static int for_each_line(const char *text, size_t count, void *arg,
                         int (*visit)(const struct span *fields, void *arg))
{
	for (const char *line = text; line != NULL && *line != '\0';) {
		const char *newline = strchr(line, '\n');
		size_t len = newline != NULL ? (size_t)(newline - line) : strlen(line);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		struct span fields[MAX_FIELDS];
		if (split_fields(line, len, fields, MAX_FIELDS) == count && fields[0].len > 0 &&
		    fields[0].start[0] != '+' && fields[0].start[0] != '-' &&
		    fields[0].start[0] != '#') {
			const int rc = visit(fields, arg);
			if (rc != 0)
				return rc;
		}
		line = newline != NULL ? newline + 1 : NULL;
	}
	return 0;
}

struct passwd_search {
	const char *name;
	uid_t uid;
	struct aero_passwd_entry *entry;
};

static int visit_passwd(const struct span *f, void *arg)
{
	struct passwd_search *s = arg;
	unsigned uid, gid;
	if (aero_id_parse(f[2].start, f[2].len, &uid) < 0 ||
	    aero_id_parse(f[3].start, f[3].len, &gid) < 0)
		return 0;
	if (s->name != NULL ? !span_is(f[0], s->name) : uid != s->uid)
		return 0;
	s->entry->name = strndup(f[0].start, f[0].len);
	s->entry->home = strndup(f[5].start, f[5].len);
	s->entry->uid = uid;
	s->entry->gid = gid;
	if (s->entry->name == NULL || s->entry->home == NULL) {
		aero_passwd_entry_free(s->entry);
		return aero_error_set("out of memory");
	}
	return 1;
}

int aero_passwd_find(const char *text, const char *name, uid_t uid, struct aero_passwd_entry *entry)
{
	memset(entry, 0, sizeof(*entry));
	struct passwd_search search = {.name = name, .uid = uid, .entry = entry};
	return for_each_line(text, 7, &search, visit_passwd);
}

void aero_passwd_entry_free(struct aero_passwd_entry *entry)
{
	free(entry->name);
	free(entry->home);
	entry->name = entry->home = NULL;
}

struct group_search {
	const char *name;
	gid_t gid;
};

static int visit_group_name(const struct span *f, void *arg)
{
	struct group_search *s = arg;
	unsigned gid;
	if (!span_is(f[0], s->name) || aero_id_parse(f[2].start, f[2].len, &gid) < 0)
		return 0;
	s->gid = gid;
	return 1;
}

int aero_group_find(const char *text, const char *name, gid_t *gid)
{
	struct group_search search = {.name = name};
	const int found = for_each_line(text, 4, &search, visit_group_name);
	if (found == 1)
		*gid = search.gid;
	return found;
}

struct membership_search {
	const char *user;
	gid_t *gids;
	size_t count;
};

/* Whether the comma-separated list names user. */
static bool list_names(struct span list, const char *user)
{
	const char *end = list.start + list.len;
	for (const char *p = list.start; p < end;) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma != NULL ? comma : end;
		const struct span member = {p, (size_t)(stop - p)};
		if (span_is(member, user))
			return true;
		p = stop + 1;
	}
	return false;
}

static int visit_membership(const struct span *f, void *arg)
{
	struct membership_search *s = arg;
	unsigned gid;
	if (aero_id_parse(f[2].start, f[2].len, &gid) < 0 || !list_names(f[3], s->user))
		return 0;
	gid_t *bigger = realloc(s->gids, (s->count + 1) * sizeof(gid_t));
	if (bigger == NULL)
		return aero_error_set("out of memory");
	bigger[s->count++] = gid;
	s->gids = bigger;
	return 0;
}

int aero_group_memberships(const char *text, const char *user, gid_t **gids, size_t *count)
{
	struct membership_search search = {.user = user, .gids = *gids, .count = *count};
	const int rc = for_each_line(text, 4, &search, visit_membership);
	*gids = search.gids;
	*count = search.count;
	return rc;
}
