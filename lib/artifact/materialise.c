/* Materialising an artifact into a directory. Every path is walked one
 * component at a time from the directory with O_NOFOLLOW, so neither a hostile
 * manifest (already refused by manifest.c) nor a symbolic link planted in the
 * directory can make a write land outside it. New files are made unnamed
 * (O_TMPFILE) and linked in whole, so a process killed half-way leaves no
 * half file behind. */
#include "materialise.h"

#include "artifact_status.h"
#include "cache.h"
#include "digest.h"
#include "error.h"
#include "pool.h"
#include "runsdir.h"
#include "statindex.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define COPY_CHUNK ((size_t)1 << 20)

enum plan { PLAN_PLACE, PLAN_PRESENT };

struct job {
	struct aero_materialise *m;
	int dir_fd;
	unsigned char *plan;   /* enum plan, per file */
	unsigned char *placed; /* per file: placed by this job (undone on failure) */
	_Atomic bool no_reflink;
	_Atomic unsigned tmp_serial;
};

/* Opens the directory that holds path (whose parent part is the first
 * parent_len bytes) below dir_fd in one call, refusing symbolic links on the
 * way (openat2, Linux 5.6). -1 with errno; ENOSYS or EPERM (a seccomp filter
 * that predates it) where there is no openat2. */
static int open_beneath(int dir_fd, const char *path, size_t parent_len)
{
	if (parent_len == 0)
		return fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
	char *parent = strndup(path, parent_len);
	if (parent == NULL) {
		errno = ENOMEM;
		return -1;
	}
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	                       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	                                  RESOLVE_NO_MAGICLINKS};
	const int fd = (int)syscall(SYS_openat2, dir_fd, parent, &how, sizeof(how));
	const int err = errno;
	free(parent);
	errno = err;
	return fd;
}

/* Opens the directory that holds path below dir_fd, never following a
 * symbolic link; with create, missing directories are made. *copy (to free)
 * holds path and *leaf its last component. -1 with errno (ENOENT: a
 * directory is missing; ENOTDIR or ELOOP: something else is in the way). */
static int open_parent(int dir_fd, const char *path, bool create, char **copy, const char **leaf)
{
	*copy = strdup(path);
	if (*copy == NULL) {
		errno = ENOMEM;
		return -1;
	}
	const char *slash = strrchr(*copy, '/');
	*leaf = slash != NULL ? slash + 1 : *copy;
	int fd = open_beneath(dir_fd, *copy, slash != NULL ? (size_t)(slash - *copy) : 0);
	if (fd >= 0 || (errno != ENOSYS && errno != EPERM && !(errno == ENOENT && create)))
		return fd;
	/* One component at a time: to make what is missing, or without openat2. */
	fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
	char *component = *copy;
	for (char *next_slash; fd >= 0 && (next_slash = strchr(component, '/')) != NULL;
	     component = next_slash + 1) {
		*next_slash = '\0';
		int next = openat(fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create &&
		    (mkdirat(fd, component, 0755) == 0 || errno == EEXIST))
			next = openat(fd, component,
			              O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		const int err = errno;
		(void)close(fd);
		errno = err;
		fd = next;
	}
	return fd;
}

/* Refuses to write path: why says what is in the way. */
static int refuse(const struct job *job, const char *path, const char *why)
{
	aero_error_set("refusing to get %s into %s: %s/%s %s; remove it or get into an empty "
	               "directory",
	               job->m->what, job->m->dir, job->m->dir, path, why);
	return AERO_ARTIFACT_BAD_INPUT;
}

/* Whether the file leaf in parent (stat st) has f's bytes. */
static bool same_content(const struct job *job, int parent, const char *leaf, const struct stat *st,
                         const struct aero_artifact_file *f)
{
	if ((uint64_t)st->st_size != f->size)
		return false;
	char *object = aero_cache_object_path(job->m->cache, f->sha256);
	struct stat ost;
	const bool linked = object != NULL && stat(object, &ost) == 0 && ost.st_dev == st->st_dev &&
	                    ost.st_ino == st->st_ino;
	free(object);
	char known[65];
	if (linked ||
	    (aero_statindex_lookup(job->m->cache, st, known) && strcmp(known, f->sha256) == 0))
		return true;
	const int fd = openat(parent, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	uint64_t size = 0;
	const bool same = fd >= 0 && aero_digest_fd(fd, leaf, known, &size) == 0 &&
	                  size == f->size && strcmp(known, f->sha256) == 0;
	if (fd >= 0)
		(void)close(fd);
	return same;
}

/* What to make of a file that is already at leaf: PRESENT, or a refusal. */
static int judge_existing(struct job *job, int parent, const char *leaf, size_t i)
{
	const struct aero_artifact_file *f = &job->m->manifest->files[i];
	struct stat st;
	if (fstatat(parent, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return PLAN_PLACE;
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "cannot inspect %s/%s: %s",
		                          job->m->dir, f->path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return refuse(job, f->path, "exists and is not a regular file");
	if (!same_content(job, parent, leaf, &st, f))
		return refuse(job, f->path, "exists with different content");
	if (((st.st_mode & S_IXUSR) != 0) != f->exec)
		return refuse(job, f->path,
		              f->exec ? "exists, but is not executable as the artifact's file is"
		                      : "exists, but is executable and the artifact's file is not");
	return PLAN_PRESENT;
}

static int plan_one(void *ctx, struct aero_store *store, size_t i)
{
	(void)store;
	struct job *job = ctx;
	const char *path = job->m->manifest->files[i].path;
	char *copy;
	const char *leaf;
	const int parent = open_parent(job->dir_fd, path, false, &copy, &leaf);
	int rc;
	if (parent < 0 && errno == ENOENT)
		rc = PLAN_PLACE;
	else if (parent < 0 && (errno == ENOTDIR || errno == ELOOP))
		rc = refuse(job, path,
		            "cannot be made: a file or a symbolic link is in the way "
		            "of its directory");
	else if (parent < 0)
		rc = aero_artifact_fail(AERO_ARTIFACT_INTERNAL,
		                        "cannot open the directory of %s/%s: %s", job->m->dir, path,
		                        strerror(errno));
	else
		rc = judge_existing(job, parent, leaf, i);
	if (parent >= 0)
		(void)close(parent);
	free(copy);
	if (rc < 0)
		return rc;
	job->plan[i] = (unsigned char)rc;
	return 0;
}

/* A new, unnamed file in parent (or, where O_TMPFILE is not supported, one
 * with a name of its own, in *name). */
static int temp_file(struct job *job, int parent, char name[64])
{
	name[0] = '\0';
	const int fd = openat(parent, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	(void)snprintf(name, 64, ".aero-partial.%d.%u", (int)getpid(),
	               atomic_fetch_add(&job->tmp_serial, 1));
	return openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/* Gives the finished temporary file its name, leaf; never replaces a file. */
static int link_temp(int fd, const char *name, int parent, const char *leaf)
{
	int rc;
	if (name[0] != '\0') {
		rc = linkat(parent, name, parent, leaf, 0);
		const int err = errno;
		(void)unlinkat(parent, name, 0);
		errno = err;
		return rc;
	}
	char proc[48];
	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	rc = linkat(AT_FDCWD, proc, parent, leaf, AT_SYMLINK_FOLLOW);
	if (rc < 0 && errno == ENOENT && access("/proc/self/fd", F_OK) != 0)
		rc = linkat(fd, "", parent, leaf, AT_EMPTY_PATH); /* no /proc: needs privilege */
	return rc;
}

static int copy_bytes(int in, int out, uint64_t size)
{
	char *buf = NULL;
	off_t at = 0;
	while ((uint64_t)at < size) {
		const size_t want = size - (uint64_t)at < COPY_CHUNK ? (size_t)(size - (uint64_t)at)
		                                                     : COPY_CHUNK;
		ssize_t n = -1;
		if (buf == NULL) {
			off_t in_at = at, out_at = at;
			n = copy_file_range(in, &in_at, out, &out_at, want, 0);
			if (n < 0 && errno != EINTR && (buf = malloc(COPY_CHUNK)) == NULL)
				return -1;
		}
		if (buf != NULL) {
			n = pread(in, buf, want, at);
			if (n > 0 && pwrite(out, buf, (size_t)n, at) != n)
				n = -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			if (n == 0)
				errno = EIO;
			return -1;
		}
		at += n;
	}
	free(buf);
	return 0;
}

/* Makes a copy of the object (a reflink when clone is true) at leaf. */
static int place_copy(struct job *job, int parent, const char *leaf, int object,
                      const struct aero_artifact_file *f, bool clone)
{
	char name[64];
	const int fd = temp_file(job, parent, name);
	if (fd < 0)
		return -1;
	int rc = clone ? ioctl(fd, FICLONE, object) : copy_bytes(object, fd, f->size);
	if (rc == 0)
		rc = fchmod(fd, f->exec ? 0555 : 0444);
	if (rc == 0)
		rc = link_temp(fd, name, parent, leaf);
	else if (name[0] != '\0')
		(void)unlinkat(parent, name, 0);
	const int err = errno;
	(void)close(fd);
	errno = err;
	return rc;
}

/* Places one file: reflink, else hardlink (read-only files only: a hardlink
 * shares the object's mode), else copy. 0, or -1 with errno. */
static int place(struct job *job, int parent, const char *leaf, const struct aero_artifact_file *f)
{
	char *path = aero_cache_object_path(job->m->cache, f->sha256);
	if (path == NULL) {
		errno = ENOMEM;
		return -1;
	}
	int object = -1;
	int rc = 1; /* 1: not placed yet */
	if (!atomic_load(&job->no_reflink)) {
		object = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		rc = object < 0 ? -1 : place_copy(job, parent, leaf, object, f, true) == 0 ? 0 : 1;
		if (rc == 0)
			atomic_fetch_add(&job->m->reflinked, 1);
		else if (rc == 1 && errno == EEXIST)
			rc = -1;
		else if (rc == 1 && (errno == EOPNOTSUPP || errno == EXDEV || errno == EINVAL ||
		                     errno == ENOTTY))
			atomic_store(&job->no_reflink, true);
	}
	if (rc == 1 && !f->exec) {
		rc = linkat(AT_FDCWD, path, parent, leaf, 0) == 0 ? 0 : 1;
		if (rc == 0)
			atomic_fetch_add(&job->m->linked, 1);
		else if (errno == EEXIST || errno == ENOENT)
			rc = -1;
	}
	if (rc == 1 && object < 0)
		object = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (rc == 1) {
		rc = object < 0 ? -1 : place_copy(job, parent, leaf, object, f, false);
		if (rc == 0)
			atomic_fetch_add(&job->m->copied, 1);
	}
	const int err = errno;
	if (object >= 0)
		(void)close(object);
	free(path);
	errno = err;
	return rc;
}

static int place_one(void *ctx, struct aero_store *store, size_t i)
{
	(void)store;
	struct job *job = ctx;
	const struct aero_artifact_file *f = &job->m->manifest->files[i];
	if (job->plan[i] == PLAN_PRESENT) {
		atomic_fetch_add(&job->m->present, 1);
		aero_progress_file_done(job->m->progress);
		return 0;
	}
	char *copy;
	const char *leaf;
	const int parent = open_parent(job->dir_fd, f->path, true, &copy, &leaf);
	int rc = parent < 0 ? -1 : place(job, parent, leaf, f);
	if (rc == 0) {
		job->placed[i] = 1;
	} else if (errno == EEXIST && parent >= 0) {
		rc = judge_existing(job, parent, leaf, i); /* another get put it there first */
		rc = rc == PLAN_PRESENT ? 0 : rc;
	} else if (errno == ENOENT && parent >= 0) {
		rc = aero_artifact_fail(
		        AERO_ARTIFACT_INTERNAL,
		        "cached object sha256:%s of %s/%s vanished while in use (did "
		        "'aero-launch cache gc' run?); get the artifact again",
		        f->sha256, job->m->dir, f->path);
	} else if (errno == ENOTDIR || errno == ELOOP) {
		rc = refuse(job, f->path,
		            "cannot be made: something is in the way of its directory");
	} else {
		rc = aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "cannot write %s/%s: %s",
		                        job->m->dir, f->path, strerror(errno));
	}
	if (parent >= 0)
		(void)close(parent);
	free(copy);
	aero_progress_file_done(job->m->progress);
	return rc;
}

/* Removes the files this job placed, after a failure. */
static void undo(struct job *job)
{
	for (size_t i = 0; i < job->m->manifest->count; i++) {
		if (!job->placed[i])
			continue;
		char *copy;
		const char *leaf;
		const int parent = open_parent(job->dir_fd, job->m->manifest->files[i].path, false,
		                               &copy, &leaf);
		if (parent >= 0) {
			(void)unlinkat(parent, leaf, 0);
			(void)close(parent);
		}
		free(copy);
	}
}

int aero_materialise(struct aero_materialise *m)
{
	const size_t count = m->manifest->count;
	struct job job = {.m = m, .dir_fd = -1};
	atomic_init(&job.no_reflink, false);
	atomic_init(&job.tmp_serial, 0);
	if (aero_mkdirs(m->dir) < 0)
		return AERO_ARTIFACT_INTERNAL;
	job.dir_fd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (job.dir_fd < 0)
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "cannot open %s: %s", m->dir,
		                          strerror(errno));
	job.plan = calloc(count + 1, 1);
	job.placed = calloc(count + 1, 1);
	int rc = job.plan != NULL && job.placed != NULL
	                 ? 0
	                 : (aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory"));
	struct aero_pool_task task = {.ctx = &job, .count = count};
	if (rc == 0) {
		task.run = plan_one;
		rc = aero_pool_run(&task, m->jobs);
	}
	if (rc == 0) {
		task.run = place_one;
		task.progress = m->progress;
		rc = aero_pool_run(&task, m->jobs);
		if (rc != 0)
			undo(&job);
	}
	free(job.plan);
	free(job.placed);
	(void)close(job.dir_fd);
	return rc;
}
