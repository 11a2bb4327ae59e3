/* Cache eviction. Nothing here can break an object a get is using: objects
 * are removed whole with unlink(2), a materialised tree keeps its hardlinks'
 * bytes, and a get that finds an object gone fetches it again. */
#include "gc.h"

#include "error.h"
#include "runsdir.h"
#include "statindex.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A partial download older than this is taken as abandoned. */
#define PARTIAL_MAX_AGE_S ((time_t)24 * 3600)

int aero_size_parse(const char *text, uint64_t *out)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
	        {"", 0},     {"b", 0},   {"k", 10},   {"kb", 10},  {"kib", 10},
	        {"m", 20},   {"mb", 20}, {"mib", 20}, {"g", 30},   {"gb", 30},
	        {"gib", 30}, {"t", 40},  {"tb", 40},  {"tib", 40},
	};
	uint64_t n = 0;
	size_t i = 0;
	for (; isdigit((unsigned char)text[i]); i++) {
		if (n > (UINT64_MAX - 9) / 10)
			return aero_error_set("size '%s' is too large", text);
		n = n * 10 + (uint64_t)(text[i] - '0');
	}
	for (size_t u = 0; i > 0 && u < sizeof(units) / sizeof(units[0]); u++)
		if (strcasecmp(text + i, units[u].suffix) == 0) {
			if (units[u].shift > 0 && n > (UINT64_MAX >> units[u].shift))
				return aero_error_set("size '%s' is too large", text);
			*out = n << units[u].shift;
			return 0;
		}
	return aero_error_set("'%s' is not a size: use a number of bytes, or one with K, M, G or "
	                      "T (1024-based), as in 500M or 20G",
	                      text);
}

struct object {
	char *path;
	struct stat st;
};

struct objects {
	struct object *items;
	size_t count, cap;
};

static bool is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[len] == '\0';
}

static int add_object(struct objects *o, const char *path, const struct stat *st)
{
	if (o->count == o->cap) {
		const size_t cap = o->cap == 0 ? 256 : o->cap * 2;
		struct object *grown = realloc(o->items, cap * sizeof(*grown));
		if (grown == NULL)
			return aero_error_set("out of memory");
		o->items = grown;
		o->cap = cap;
	}
	o->items[o->count].path = strdup(path);
	if (o->items[o->count].path == NULL)
		return aero_error_set("out of memory");
	o->items[o->count++].st = *st;
	return 0;
}

/* The objects in one fan-out directory, objects/sha256/<2 hex>. */
static int collect_dir(struct objects *o, const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	int rc = 0;
	for (const struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
		struct stat st;
		if (!is_hex(e->d_name, 62) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		char *path = aero_path_join(dir, e->d_name);
		rc = path != NULL ? add_object(o, path, &st) : aero_error_set("out of memory");
		free(path);
	}
	(void)closedir(d);
	return rc;
}

static int collect(struct objects *o, const char *cache)
{
	char *root = aero_path_join(cache, "objects/sha256");
	if (root == NULL)
		return aero_error_set("out of memory");
	DIR *d = opendir(root);
	int rc = 0;
	if (d == NULL && errno != ENOENT)
		rc = aero_error_set("cannot read the cache %s: %s", root, strerror(errno));
	for (const struct dirent *e; d != NULL && rc == 0 && (e = readdir(d)) != NULL;) {
		if (!is_hex(e->d_name, 2))
			continue;
		char *dir = aero_path_join(root, e->d_name);
		rc = dir != NULL ? collect_dir(o, dir) : aero_error_set("out of memory");
		free(dir);
	}
	if (d != NULL)
		(void)closedir(d);
	free(root);
	return rc;
}

static int least_recent_first(const void *a, const void *b)
{
	const struct stat *x = &((const struct object *)a)->st,
	                  *y = &((const struct object *)b)->st;
	if (x->st_mtim.tv_sec != y->st_mtim.tv_sec)
		return x->st_mtim.tv_sec < y->st_mtim.tv_sec ? -1 : 1;
	if (x->st_mtim.tv_nsec != y->st_mtim.tv_nsec)
		return x->st_mtim.tv_nsec < y->st_mtim.tv_nsec ? -1 : 1;
	return 0;
}

/* Removes partial downloads in CACHE/tmp that no download holds and that
 * have not grown for a day. */
static void remove_partials(const char *cache, struct aero_cache_gc_report *r)
{
	char *tmp = aero_path_join(cache, "tmp");
	DIR *d = tmp != NULL ? opendir(tmp) : NULL;
	const time_t now = time(NULL);
	for (const struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
		const size_t len = strlen(e->d_name);
		struct stat st;
		if (len != 69 || strcmp(e->d_name + 64, ".part") != 0 ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    now - st.st_mtim.tv_sec < PARTIAL_MAX_AGE_S)
			continue;
		char lock_name[80];
		memcpy(lock_name, e->d_name, 64);
		memcpy(lock_name + 64, ".lock", 6);
		const int lock = openat(dirfd(d), lock_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) < 0) {
			(void)close(lock); /* a download is resuming it right now */
			continue;
		}
		(void)unlinkat(dirfd(d), e->d_name, 0);
		memcpy(lock_name + 64, ".etag", 6);
		(void)unlinkat(dirfd(d), lock_name, 0);
		r->partials_removed++;
		if (lock >= 0)
			(void)close(lock);
	}
	if (d != NULL)
		(void)closedir(d);
	free(tmp);
}

int aero_cache_gc(const char *cache, uint64_t max_size, struct aero_cache_gc_report *r)
{
	memset(r, 0, sizeof(*r));
	struct objects o = {0};
	int rc = collect(&o, cache);
	if (rc == 0 && o.count > 1)
		qsort(o.items, o.count, sizeof(o.items[0]), least_recent_first);
	for (size_t i = 0; i < o.count; i++) {
		r->objects++;
		r->bytes += (uint64_t)o.items[i].st.st_size;
	}
	uint64_t size = r->bytes;
	for (size_t i = 0; rc == 0 && i < o.count && size > max_size; i++) {
		const struct stat *st = &o.items[i].st;
		if (st->st_nlink > 1) {
			r->linked_objects++;
			r->linked_bytes += (uint64_t)st->st_size;
			continue;
		}
		if (unlink(o.items[i].path) < 0) {
			if (errno == ENOENT)
				continue; /* another gc was quicker */
			rc = aero_error_set("cannot remove %s: %s", o.items[i].path,
			                    strerror(errno));
			break;
		}
		aero_statindex_forget(cache, st);
		size -= (uint64_t)st->st_size;
		r->removed_objects++;
		r->removed_bytes += (uint64_t)st->st_size;
	}
	for (size_t i = 0; i < o.count; i++)
		free(o.items[i].path);
	free(o.items);
	if (rc == 0)
		remove_partials(cache, r);
	return rc;
}
