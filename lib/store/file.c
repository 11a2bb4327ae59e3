/* The file:// backend: a store in a plain directory. Objects are written to a
 * temporary file beside their place, synced, then linked (write once: link(2)
 * fails when the name exists) or renamed into place, so that a reader never
 * sees half an object. */
#include "store.h"

#include "error.h"
#include "file.h"
#include "runsdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (1u << 20)
#define TMP_PREFIX ".tmp-"

struct file_store {
	char *root;
};

static int errno_status(int err)
{
	if (err == ENOENT || err == ENOTDIR)
		return AERO_STORE_NOT_FOUND;
	if (err == EACCES || err == EPERM || err == EROFS)
		return AERO_STORE_DENIED;
	return AERO_STORE_ERROR;
}

static int fail_errno(const struct file_store *fs, const char *what, const char *key)
{
	const int err = errno;
	aero_error_set("store %s: cannot %s %s: %s", fs->root, what, key, strerror(err));
	return errno_status(err);
}

/* Keys are relative paths with no empty, "." or ".." component. */
static bool key_is_safe(const char *key)
{
	if (key[0] == '\0' || key[0] == '/')
		return false;
	for (const char *p = key; *p != '\0';) {
		const size_t len = strcspn(p, "/");
		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += len;
		if (*p == '/')
			p++;
		if (*p == '\0' && p[-1] == '/')
			return false;
	}
	return true;
}

static char *key_path(const struct file_store *fs, const char *key)
{
	if (!key_is_safe(key)) {
		aero_error_set("store key '%s' is not a relative path without '.' or '..'", key);
		return NULL;
	}
	char *path = aero_path_join(fs->root, key);
	if (path == NULL)
		aero_error_set("out of memory");
	return path;
}

static void stat_fill(const struct stat *st, struct aero_store_stat *out)
{
	if (out == NULL)
		return;
	out->size = (uint64_t)st->st_size;
	(void)snprintf(out->etag, sizeof(out->etag), "%" PRIxMAX "-%" PRIxMAX "-%" PRIxMAX ".%09ld",
	               (uintmax_t)st->st_ino, (uintmax_t)st->st_size, (uintmax_t)st->st_mtim.tv_sec,
	               (long)st->st_mtim.tv_nsec);
}

static int file_open(const char *url, void **state)
{
	const char *path = url + strlen("file://");
	if (path[0] != '/') {
		aero_error_set("store URL '%s' needs an absolute path: file:///DIR", url);
		return AERO_STORE_ERROR;
	}
	struct file_store *fs = calloc(1, sizeof(*fs));
	if (fs == NULL || (fs->root = strdup(path)) == NULL) {
		free(fs);
		aero_error_set("out of memory");
		return AERO_STORE_ERROR;
	}
	size_t len = strlen(fs->root);
	while (len > 1 && fs->root[len - 1] == '/')
		fs->root[--len] = '\0';
	*state = fs;
	return AERO_STORE_OK;
}

static void file_close(void *state)
{
	struct file_store *fs = state;
	if (fs == NULL)
		return;
	free(fs->root);
	free(fs);
}

/* Copies len bytes from in (at *in_off) to out (at *out_off), in the kernel
 * where it can. */
static int copy_range(int in, off_t *in_off, int out, off_t *out_off, uint64_t len,
                      const struct aero_store_progress *progress)
{
	char *buf = NULL;
	while (len > 0) {
		const size_t want = len < COPY_CHUNK ? (size_t)len : COPY_CHUNK;
		ssize_t got = buf == NULL ? copy_file_range(in, in_off, out, out_off, want, 0) : -1;
		if (got < 0 && buf == NULL &&
		    (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
		     errno == EBADF)) {
			buf = malloc(COPY_CHUNK);
			if (buf == NULL)
				return aero_error_set("out of memory"), -1;
		}
		if (buf != NULL) {
			got = pread(in, buf, want, *in_off);
			if (got > 0) {
				for (ssize_t done = 0; done < got;) {
					const ssize_t w =
					        pwrite(out, buf + done, (size_t)(got - done),
					               *out_off + done);
					if (w < 0 && errno == EINTR)
						continue;
					if (w <= 0) {
						free(buf);
						return -1;
					}
					done += w;
				}
				*in_off += got;
				*out_off += got;
			}
		}
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			return -1;
		}
		if (got == 0) {
			free(buf);
			errno = EIO;
			return aero_error_set("the source ended early"), -1;
		}
		len -= (uint64_t)got;
		if (progress != NULL && progress->advance != NULL)
			progress->advance(progress->ctx, (uint64_t)got);
	}
	free(buf);
	return 0;
}

static int parent_dirs(const struct file_store *fs, const char *path, const char *key)
{
	char *parent = strdup(path);
	if (parent == NULL)
		return aero_error_set("out of memory"), AERO_STORE_ERROR;
	*strrchr(parent, '/') = '\0';
	const int rc = aero_mkdirs(parent);
	free(parent);
	if (rc < 0) {
		aero_error_set("store %s: cannot make the directory for %s: %s", fs->root, key,
		               aero_error_last());
		return AERO_STORE_ERROR;
	}
	return AERO_STORE_OK;
}

/* Moves the synced temporary file into place: link(2) for write-once (the
 * kernel says EEXIST atomically), rename(2) otherwise. */
static int install(const struct file_store *fs, int tmp_fd, const char *tmp, const char *path,
                   const char *key, unsigned flags)
{
	int rc = AERO_STORE_OK;
	if (fsync(tmp_fd) < 0)
		rc = fail_errno(fs, "sync", key);
	else if (flags & AERO_STORE_IF_ABSENT) {
		if (link(tmp, path) < 0) {
			if (errno == EEXIST) {
				aero_error_set("store %s: %s exists already", fs->root, key);
				rc = AERO_STORE_EXISTS;
			} else {
				rc = fail_errno(fs, "write", key);
			}
		}
		(void)unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		rc = fail_errno(fs, "write", key);
		(void)unlink(tmp);
	}
	(void)close(tmp_fd);
	return rc;
}

/* Creates a temporary file in path's directory; *tmp gets its name. */
static int temp_beside(const struct file_store *fs, const char *path, const char *key, char **tmp)
{
	int rc = parent_dirs(fs, path, key);
	if (rc != AERO_STORE_OK)
		return -1;
	const char *slash = strrchr(path, '/');
	const size_t dir_len = (size_t)(slash - path);
	const size_t len = dir_len + sizeof("/" TMP_PREFIX "XXXXXX");
	*tmp = malloc(len);
	if (*tmp == NULL)
		return aero_error_set("out of memory"), -1;
	(void)snprintf(*tmp, len, "%.*s/" TMP_PREFIX "XXXXXX", (int)dir_len, path);
	const int fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd < 0) {
		fail_errno(fs, "create a temporary file for", key);
		free(*tmp);
		*tmp = NULL;
		return -1;
	}
	(void)fchmod(fd, 0644);
	return fd;
}

static int file_put_fd(void *state, const char *key, int fd, uint64_t size, const char *sha256,
                       unsigned flags, const struct aero_store_progress *progress)
{
	(void)sha256;
	const struct file_store *fs = state;
	char *path = key_path(fs, key);
	if (path == NULL)
		return AERO_STORE_ERROR;
	char *tmp = NULL;
	const int out = temp_beside(fs, path, key, &tmp);
	if (out < 0) {
		free(path);
		return errno_status(errno);
	}
	off_t in_off = 0, out_off = 0;
	int rc;
	if (copy_range(fd, &in_off, out, &out_off, size, progress) < 0) {
		rc = fail_errno(fs, "write", key);
		(void)close(out);
		(void)unlink(tmp);
	} else {
		rc = install(fs, out, tmp, path, key, flags);
	}
	free(tmp);
	free(path);
	return rc;
}

static int file_put_bytes(void *state, const char *key, const void *data, size_t len,
                          unsigned flags)
{
	const struct file_store *fs = state;
	char *path = key_path(fs, key);
	if (path == NULL)
		return AERO_STORE_ERROR;
	char *tmp = NULL;
	const int out = temp_beside(fs, path, key, &tmp);
	if (out < 0) {
		free(path);
		return errno_status(errno);
	}
	int rc;
	if (aero_write_all(out, data, len) < 0) {
		rc = fail_errno(fs, "write", key);
		(void)close(out);
		(void)unlink(tmp);
	} else {
		rc = install(fs, out, tmp, path, key, flags);
	}
	free(tmp);
	free(path);
	return rc;
}

static int open_object(const struct file_store *fs, const char *key, struct stat *st)
{
	char *path = key_path(fs, key);
	if (path == NULL)
		return -1;
	const int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0) {
		const int err = errno;
		aero_error_set("store %s: no object %s", fs->root, key);
		if (errno_status(err) != AERO_STORE_NOT_FOUND)
			aero_error_set("store %s: cannot read %s: %s", fs->root, key,
			               strerror(err));
		errno = err;
		return -1;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		aero_error_set("store %s: %s is not a regular file", fs->root, key);
		(void)close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

static int file_get_fd(void *state, const char *key, int fd, uint64_t offset, const char *if_match,
                       struct aero_store_stat *st, const struct aero_store_progress *progress)
{
	const struct file_store *fs = state;
	struct stat sb;
	const int in = open_object(fs, key, &sb);
	if (in < 0)
		return errno == EINVAL ? AERO_STORE_ERROR : errno_status(errno);
	struct aero_store_stat now;
	stat_fill(&sb, &now);
	if (st != NULL)
		*st = now;
	int rc = AERO_STORE_OK;
	if ((if_match != NULL && strcmp(if_match, now.etag) != 0) || offset > now.size) {
		aero_error_set("store %s: %s changed since the download began", fs->root, key);
		rc = AERO_STORE_CHANGED;
	} else {
		off_t in_off = (off_t)offset, out_off = (off_t)offset;
		if (copy_range(in, &in_off, fd, &out_off, now.size - offset, progress) < 0)
			rc = fail_errno(fs, "copy", key);
	}
	(void)close(in);
	return rc;
}

static int file_get_bytes(void *state, const char *key, size_t max, char **data, size_t *len)
{
	const struct file_store *fs = state;
	struct stat sb;
	const int in = open_object(fs, key, &sb);
	if (in < 0)
		return errno == EINVAL ? AERO_STORE_ERROR : errno_status(errno);
	int rc = AERO_STORE_OK;
	if ((uint64_t)sb.st_size > max) {
		aero_error_set("store %s: %s is larger than %zu bytes", fs->root, key, max);
		rc = AERO_STORE_ERROR;
	} else if ((*data = malloc((size_t)sb.st_size + 1)) == NULL) {
		aero_error_set("out of memory");
		rc = AERO_STORE_ERROR;
	} else {
		size_t got = 0;
		while (got < (size_t)sb.st_size) {
			const ssize_t n =
			        pread(in, *data + got, (size_t)sb.st_size - got, (off_t)got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (got != (size_t)sb.st_size) {
			rc = fail_errno(fs, "read", key);
			free(*data);
			*data = NULL;
		} else {
			(*data)[got] = '\0';
			if (len != NULL)
				*len = got;
		}
	}
	(void)close(in);
	return rc;
}

static int file_head(void *state, const char *key, struct aero_store_stat *st)
{
	const struct file_store *fs = state;
	char *path = key_path(fs, key);
	if (path == NULL)
		return AERO_STORE_ERROR;
	struct stat sb;
	int rc = AERO_STORE_OK;
	if (stat(path, &sb) < 0) {
		rc = errno_status(errno);
		aero_error_set("store %s: no object %s", fs->root, key);
	} else {
		stat_fill(&sb, st);
	}
	free(path);
	return rc;
}

static int file_exists(void *state, const char *const *keys, size_t n, bool *found)
{
	const struct file_store *fs = state;
	for (size_t i = 0; i < n; i++) {
		char *path = key_path(fs, keys[i]);
		if (path == NULL)
			return AERO_STORE_ERROR;
		struct stat sb;
		const int err = stat(path, &sb) < 0 ? errno : 0;
		free(path);
		found[i] = err == 0 && S_ISREG(sb.st_mode); /* as list: files are keys */
		if (err != 0 && err != ENOENT && err != ENOTDIR) {
			errno = err;
			return fail_errno(fs, "look for", keys[i]);
		}
	}
	return AERO_STORE_OK;
}

struct entry {
	char *key;
	uint64_t size;
};

struct listing {
	struct entry *entries;
	size_t count, cap;
};

static int listing_add(struct listing *l, const char *key, uint64_t size)
{
	if (l->count == l->cap) {
		const size_t cap = l->cap == 0 ? 64 : l->cap * 2;
		struct entry *entries = realloc(l->entries, cap * sizeof(*entries));
		if (entries == NULL)
			return -1;
		l->entries = entries;
		l->cap = cap;
	}
	if ((l->entries[l->count].key = strdup(key)) == NULL)
		return -1;
	l->entries[l->count++].size = size;
	return 0;
}

/* Collects the files below dir (whose key is rel, "" for the root) whose keys
 * start with prefix. */
static int walk(int dir_fd, const char *rel, const char *prefix, struct listing *l)
{
	DIR *dir = fdopendir(dir_fd);
	if (dir == NULL) {
		(void)close(dir_fd);
		return -1;
	}
	int rc = 0;
	const size_t rel_len = strlen(rel);
	for (struct dirent *e; rc == 0 && (e = readdir(dir)) != NULL;) {
		if (e->d_name[0] == '.' &&
		    (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0') ||
		     strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0))
			continue;
		const size_t len = rel_len + strlen(e->d_name) + 2;
		char *key = malloc(len);
		if (key == NULL) {
			rc = -1;
			break;
		}
		(void)snprintf(key, len, "%s%s%s", rel, rel_len > 0 ? "/" : "", e->d_name);
		struct stat sb;
		const size_t key_len = strlen(key);
		const size_t cmp = key_len < strlen(prefix) ? key_len : strlen(prefix);
		if (strncmp(key, prefix, cmp) == 0 &&
		    fstatat(dirfd(dir), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISDIR(sb.st_mode)) {
				const int sub = openat(dirfd(dir), e->d_name,
				                       O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				rc = sub < 0 ? -1 : walk(sub, key, prefix, l);
			} else if (S_ISREG(sb.st_mode) && key_len >= strlen(prefix)) {
				rc = listing_add(l, key, (uint64_t)sb.st_size);
			}
		}
		free(key);
	}
	(void)closedir(dir);
	return rc;
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

static int file_list(void *state, const char *prefix, aero_store_list_fn fn, void *ctx)
{
	const struct file_store *fs = state;
	const int root = open(fs->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		if (errno == ENOENT)
			return AERO_STORE_OK; /* an empty store: nothing written yet */
		return fail_errno(fs, "list", prefix);
	}
	struct listing l = {0};
	int rc = walk(root, "", prefix, &l) < 0 ? fail_errno(fs, "list", prefix) : AERO_STORE_OK;
	if (rc == AERO_STORE_OK && l.count > 0)
		qsort(l.entries, l.count, sizeof(*l.entries), compare_keys);
	for (size_t i = 0; i < l.count && rc == AERO_STORE_OK; i++)
		rc = fn(ctx, l.entries[i].key, l.entries[i].size);
	for (size_t i = 0; i < l.count; i++)
		free(l.entries[i].key);
	free(l.entries);
	return rc;
}

static int file_remove(void *state, const char *key)
{
	const struct file_store *fs = state;
	char *path = key_path(fs, key);
	if (path == NULL)
		return AERO_STORE_ERROR;
	const int rc = unlink(path) < 0 ? fail_errno(fs, "remove", key) : AERO_STORE_OK;
	free(path);
	return rc;
}

const struct aero_store_backend aero_store_file_backend = {
        .scheme = "file",
        .open = file_open,
        .put_fd = file_put_fd,
        .put_bytes = file_put_bytes,
        .get_fd = file_get_fd,
        .get_bytes = file_get_bytes,
        .head = file_head,
        .list = file_list,
        .exists = file_exists,
        .remove = file_remove,
        .close = file_close,
};
