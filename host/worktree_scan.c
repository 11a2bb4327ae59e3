/* The working tree against the index's stat data, in parallel. Each job is one
 * directory: its names (getdents64) are matched with the index entries under it;
 * a tracked file is compared with fstatat on the directory's descriptor (one
 * path component to resolve, where libgit2 resolves the whole absolute path
 * of each file), a tracked directory becomes a job, and a name the index does
 * not hold is kept. The kept names are then given to libgit2's own status
 * walk, limited to them, on the calling thread: it alone knows exactly what
 * status calls ignored (negated patterns, directories holding only ignored
 * files), and a git_repository is not to be shared between threads. */
#include "worktree_scan.h"

#include "git_index.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Below this many tracked files per thread, starting one costs more than it saves. */
#define FILES_PER_THREAD 2000
#define MAX_THREADS 16

struct scan_job {
	char *dir;    /* "a/b/" under the working tree; "" for its top */
	size_t first; /* the index entries under dir: [first, end) */
	size_t end;
};

struct scan {
	const struct aero_git_index_entry *entries; /* stage 0, in the index's order */
	size_t count;
	int top_fd;           /* the working tree */
	int64_t racy_from;    /* an entry modified in this second or later is racy */
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t wake;
	struct scan_job *jobs; /* directories waiting for a worker */
	size_t njobs;
	size_t jobs_cap;
	size_t busy;      /* workers inside a job */
	atomic_bool stop; /* unsure: every worker returns (read without the lock) */
	char *unsure;
	char **untracked; /* paths the index does not hold (nor anything under them) */
	size_t nuntracked;
	size_t untracked_cap;
	size_t files;
	size_t submodules;
};

/* One name of a directory, or one name the index holds under it. */
struct scan_name {
	const char *name;
	size_t len;
	unsigned char type;                       /* a name read from the directory: its DT_* */
	int kind;                                 /* a name the index holds: TRACKED_* */
	const struct aero_git_index_entry *entry; /* a tracked file or submodule */
	size_t first;                             /* a tracked directory: its entries */
	size_t end;
};

enum { TRACKED_FILE, TRACKED_DIR, TRACKED_SUBMODULE };

static bool scan_stopped(struct scan *s)
{
	return atomic_load_explicit(&s->stop, memory_order_relaxed);
}

/* Gives up: the first reason is kept for -v; every worker returns. */
__attribute__((format(printf, 2, 3))) static void scan_give_up(struct scan *s, const char *fmt, ...)
{
	char *why = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) < 0)
		why = NULL;
	va_end(ap);
	pthread_mutex_lock(&s->lock);
	if (s->unsure == NULL) {
		s->unsure = why;
		why = NULL;
	}
	atomic_store(&s->stop, true);
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	free(why);
}

static int grow(void **array, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t bigger = *cap < 16 ? 16 : *cap;
	while (bigger < need)
		bigger *= 2;
	void *p = reallocarray(*array, bigger, size);
	if (p == NULL)
		return -1;
	*array = p;
	*cap = bigger;
	return 0;
}

/* dir, then len bytes of name, then tail, malloc'd. */
static char *join(const char *dir, const char *name, size_t len, const char *tail)
{
	char *path = NULL;
	return asprintf(&path, "%s%.*s%s", dir, (int)len, name, tail) < 0 ? NULL : path;
}

static void scan_push_job(struct scan *s, char *dir, size_t first, size_t end)
{
	pthread_mutex_lock(&s->lock);
	const bool ok = grow((void **)&s->jobs, &s->jobs_cap, s->njobs + 1, sizeof(*s->jobs)) == 0;
	if (ok) {
		s->jobs[s->njobs++] = (struct scan_job){dir, first, end};
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->lock);
	if (!ok) {
		free(dir);
		scan_give_up(s, "out of memory");
	}
}

static void scan_keep_untracked(struct scan *s, char *path)
{
	pthread_mutex_lock(&s->lock);
	const bool ok = grow((void **)&s->untracked, &s->untracked_cap, s->nuntracked + 1,
	                     sizeof(*s->untracked)) == 0;
	if (ok)
		s->untracked[s->nuntracked++] = path;
	pthread_mutex_unlock(&s->lock);
	if (!ok) {
		free(path);
		scan_give_up(s, "out of memory");
	}
}

/* The mode libgit2 gives a file it finds in the working tree; 0 for what the
 * index cannot hold as a file. */
static uint32_t canonical_mode(mode_t mode)
{
	if (S_ISREG(mode))
		return S_IFREG | ((mode & S_IXUSR) ? 0755 : 0644);
	if (S_ISLNK(mode))
		return S_IFLNK;
	return 0;
}

/* Every field libgit2's status compares before it hashes a file (it does not
 * compare st_dev). Equal and not racy: libgit2 too calls the file unmodified. */
static bool stat_matches(const struct aero_git_index_entry *e, const struct stat *st)
{
	return e->mode == canonical_mode(st->st_mode) && e->size == (uint32_t)st->st_size &&
	       e->mtime_sec == (uint32_t)st->st_mtim.tv_sec &&
	       e->mtime_nsec == (uint32_t)st->st_mtim.tv_nsec &&
	       e->ctime_sec == (uint32_t)st->st_ctim.tv_sec &&
	       e->ctime_nsec == (uint32_t)st->st_ctim.tv_nsec && e->ino == (uint32_t)st->st_ino &&
	       e->uid == (uint32_t)st->st_uid && e->gid == (uint32_t)st->st_gid;
}

static int name_cmp(const void *a, const void *b)
{
	const struct scan_name *x = a;
	const struct scan_name *y = b;
	const int c = memcmp(x->name, y->name, x->len < y->len ? x->len : y->len);
	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* The names in the directory open at fd (but "." and "..", and the top's
 * ".git"), sorted, in *buf. getdents64 itself: readdir's fdopendir costs an
 * fstat and two fcntl per directory, a third of the syscalls of a tree of
 * small directories. */
static int read_names(struct scan *s, int fd, const struct scan_job *job, char **buf,
                      struct scan_name **out, size_t *count)
{
	size_t used = 0, cap = 0, n = 0, ncap = 0;
	struct scan_name *names = NULL;
	_Alignas(struct dirent64) char chunk[32768];
	ssize_t got;
	while ((got = getdents64(fd, chunk, sizeof(chunk))) > 0) {
		for (ssize_t at = 0; at < got;) {
			/* The fields by their offsets: no cast to a more aligned type. */
			const char *record = chunk + at;
			unsigned short reclen;
			memcpy(&reclen, record + offsetof(struct dirent64, d_reclen),
			       sizeof(reclen));
			const unsigned char type =
			        (unsigned char)record[offsetof(struct dirent64, d_type)];
			const char *name = record + offsetof(struct dirent64, d_name);
			at += reclen;
			if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
			    (job->dir[0] == '\0' && strcmp(name, ".git") == 0))
				continue;
			const size_t len = strlen(name);
			if (grow((void **)buf, &cap, used + len + 1, 1) < 0 ||
			    grow((void **)&names, &ncap, n + 1, sizeof(*names)) < 0)
				goto oom;
			memcpy(*buf + used, name, len + 1);
			names[n++] = (struct scan_name){.len = len, .type = type};
			used += len + 1;
		}
	}
	if (got < 0) {
		free(names);
		scan_give_up(s, "%s: cannot read the directory", job->dir);
		return -1;
	}
	/* *buf has stopped moving: the names lie in it one after the other. */
	for (size_t i = 0, at = 0; i < n; at += names[i++].len + 1)
		names[i].name = *buf + at;
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	*out = names;
	*count = n;
	return 0;
oom:
	free(names);
	scan_give_up(s, "out of memory");
	return -1;
}

/* The names the index holds directly under job's directory. */
static int tracked_names(struct scan *s, const struct scan_job *job, struct scan_name **out,
                         size_t *count)
{
	const size_t dlen = strlen(job->dir);
	size_t n = 0, cap = 0;
	*out = NULL;
	for (size_t i = job->first; i < job->end;) {
		const struct aero_git_index_entry *e = &s->entries[i];
		const char *rest = e->path + dlen;
		const char *slash = strchr(rest, '/');
		struct scan_name name = {.name = rest, .entry = e, .first = i, .end = i + 1};
		name.len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
		name.kind = e->mode == GIT_FILEMODE_COMMIT ? TRACKED_SUBMODULE : TRACKED_FILE;
		if (slash != NULL) {
			const size_t prefix = dlen + name.len + 1;
			while (name.end < job->end &&
			       strncmp(s->entries[name.end].path, e->path, prefix) == 0)
				name.end++;
			name.kind = TRACKED_DIR;
			name.entry = NULL;
		}
		if (name.len == 0) {
			scan_give_up(s, "%s: an empty path component in the index", e->path);
			return -1;
		}
		if (grow((void **)out, &cap, n + 1, sizeof(**out)) < 0) {
			scan_give_up(s, "out of memory");
			return -1;
		}
		(*out)[n++] = name;
		i = name.end;
	}
	*count = n;
	if (n > 0)
		qsort(*out, n, sizeof(**out), name_cmp);
	return 0;
}

static bool is_directory(int dfd, const struct scan_name *found)
{
	if (found->type != DT_UNKNOWN)
		return found->type == DT_DIR;
	struct stat st;
	return fstatat(dfd, found->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* What one directory's names added up to. */
struct scan_count {
	size_t files;
	size_t submodules;
};

/* One tracked name and what the directory holds under it. */
static void match_name(struct scan *s, const struct scan_job *job, int dfd,
                       const struct scan_name *tracked, const struct scan_name *found,
                       struct scan_count *count)
{
	if (tracked->kind == TRACKED_DIR || tracked->kind == TRACKED_SUBMODULE) {
		if (!is_directory(dfd, found)) {
			scan_give_up(s, "%s%s: not a directory", job->dir, found->name);
		} else if (tracked->kind == TRACKED_SUBMODULE) {
			count->submodules++;
		} else {
			char *dir = join(job->dir, found->name, found->len, "/");
			if (dir == NULL)
				scan_give_up(s, "out of memory");
			else
				scan_push_job(s, dir, tracked->first, tracked->end);
		}
		return;
	}
	struct stat st;
	const struct aero_git_index_entry *e = tracked->entry;
	if (fstatat(dfd, found->name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		scan_give_up(s, "%s: cannot be read", e->path);
	else if (!stat_matches(e, &st))
		scan_give_up(s, "%s: its stat data differ from the index's", e->path);
	else if ((int64_t)(int32_t)e->mtime_sec >= s->racy_from)
		scan_give_up(s, "%s: changed in the second the index was written", e->path);
	else
		count->files++;
}

static void scan_dir(struct scan *s, const struct scan_job *job)
{
	const int fd = openat(s->top_fd, job->dir[0] != '\0' ? job->dir : ".",
	                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		scan_give_up(s, "%s: cannot open the directory", job->dir);
		return;
	}
	char *buf = NULL;
	struct scan_name *found = NULL, *tracked = NULL;
	size_t nfound = 0, ntracked = 0;
	struct scan_count count = {0, 0};
	if (read_names(s, fd, job, &buf, &found, &nfound) == 0 &&
	    tracked_names(s, job, &tracked, &ntracked) == 0) {
		size_t t = 0, f = 0;
		while ((t < ntracked || f < nfound) && !scan_stopped(s)) {
			const int c = t == ntracked ? 1
			              : f == nfound ? -1
			                            : name_cmp(&tracked[t], &found[f]);
			if (c < 0) {
				scan_give_up(s, "%s%.*s: in the index, not in the working tree",
				             job->dir, (int)tracked[t].len, tracked[t].name);
			} else if (c > 0) {
				char *path = join(job->dir, found[f].name, found[f].len, "");
				if (path == NULL)
					scan_give_up(s, "out of memory");
				else
					scan_keep_untracked(s, path);
				f++;
			} else if (t + 1 < ntracked &&
			           name_cmp(&tracked[t], &tracked[t + 1]) == 0) {
				scan_give_up(s, "%s%s: both a file and a directory in the index",
				             job->dir, found[f].name);
			} else {
				match_name(s, job, fd, &tracked[t++], &found[f++], &count);
			}
		}
	}
	close(fd);
	free(buf);
	free(found);
	free(tracked);
	pthread_mutex_lock(&s->lock);
	s->files += count.files;
	s->submodules += count.submodules;
	pthread_mutex_unlock(&s->lock);
}

static void *scan_worker(void *arg)
{
	struct scan *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!scan_stopped(s) && s->njobs == 0 && s->busy > 0)
			pthread_cond_wait(&s->wake, &s->lock);
		if (scan_stopped(s) || s->njobs == 0)
			break; /* unsure, or no job left and none running to make one */
		struct scan_job job = s->jobs[--s->njobs];
		s->busy++;
		pthread_mutex_unlock(&s->lock);
		scan_dir(s, &job);
		free(job.dir);
		pthread_mutex_lock(&s->lock);
		s->busy--;
	}
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static size_t cpu_count(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (size_t)CPU_COUNT(&set);
	const long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (size_t)n : 1;
}

/* Runs the jobs on this thread and as many more as the CPUs and the index's
 * size are worth; a thread that cannot start is simply not there. */
static void scan_run(struct scan *s)
{
	size_t want = s->count / FILES_PER_THREAD;
	const size_t cpus = cpu_count();
	if (want > cpus)
		want = cpus;
	if (want > MAX_THREADS)
		want = MAX_THREADS;
	pthread_t threads[MAX_THREADS];
	size_t started = 0;
	for (size_t i = 1; i < want; i++)
		if (pthread_create(&threads[started], NULL, scan_worker, s) == 0)
			started++;
	scan_worker(s);
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
}

/* Whether the index's entries can stand for what libgit2 would read: no
 * conflict, no intent-to-add entry, in strict order, not case-insensitive. */
static bool entries_usable(struct scan *s, git_repository *repo, const struct aero_git_index *index)
{
	git_config *config = NULL;
	int ignore_case = 0;
	int rc = git_repository_config_snapshot(&config, repo);
	if (rc == 0)
		rc = git_config_get_bool(&ignore_case, config, "core.ignorecase");
	git_error_clear();
	git_config_free(config);
	if (rc != 0 && rc != GIT_ENOTFOUND) {
		scan_give_up(s, "the repository's configuration cannot be read");
		return false;
	}
	if (ignore_case) {
		scan_give_up(s, "the index is case-insensitive (core.ignorecase)");
		return false;
	}
	for (size_t i = 0; i < index->count; i++) {
		const struct aero_git_index_entry *e = &index->entries[i];
		if ((e->flags & AERO_GIT_INDEX_STAGE_MASK) != 0 ||
		    (e->flags_extended & AERO_GIT_INDEX_INTENT_TO_ADD) != 0) {
			scan_give_up(s, "%s: a conflict or an intent-to-add entry", e->path);
			return false;
		}
		if (i > 0 && strcmp(index->entries[i - 1].path, e->path) >= 0) {
			scan_give_up(s, "%s: the index is not in order", e->path);
			return false;
		}
	}
	s->entries = index->entries;
	s->count = index->count;
	/* libgit2 calls an entry racy from the index file's second, as a 32-bit time. */
	s->racy_from = (int32_t)index->mtime_sec;
	return true;
}

/* libgit2's status, limited to the names the index does not hold: none of
 * them may be reported (each is ignored, or an empty or ignored directory). */
static void check_untracked(struct scan *s, git_repository *repo)
{
	git_status_options opts;
	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	opts.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
	             GIT_STATUS_OPT_EXCLUDE_SUBMODULES | GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH;
	opts.pathspec.strings = s->untracked;
	opts.pathspec.count = s->nuntracked;
	git_status_list *status = NULL;
	if (git_status_list_new(&status, repo, &opts) != 0) {
		git_error_clear();
		scan_give_up(s, "libgit2 cannot read the status of the untracked names");
		return;
	}
	for (size_t i = 0; i < git_status_list_entrycount(status); i++) {
		const git_status_entry *e = git_status_byindex(status, i);
		if (e->status != GIT_STATUS_CURRENT && !(e->status & GIT_STATUS_IGNORED)) {
			const git_diff_delta *d = e->index_to_workdir;
			scan_give_up(s, "%s: untracked and not ignored",
			             d != NULL && d->new_file.path != NULL ? d->new_file.path
			                                                   : "?");
			break;
		}
	}
	git_status_list_free(status);
}

void aero_worktree_scan(git_repository *repo, const struct aero_git_index *index,
                        struct aero_worktree_scan *out)
{
	memset(out, 0, sizeof(*out));
	struct scan s = {.top_fd = -1};
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.wake, NULL);
	const char *workdir = git_repository_workdir(repo);
	if (workdir == NULL)
		scan_give_up(&s, "the repository has no working tree");
	else if (entries_usable(&s, repo, index)) {
		s.top_fd = open(workdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		char *top = strdup("");
		if (s.top_fd < 0 || top == NULL) {
			free(top);
			scan_give_up(&s, "%s: cannot open the working tree", workdir);
		} else {
			scan_push_job(&s, top, 0, s.count);
			scan_run(&s);
		}
	}
	if (!scan_stopped(&s) && s.nuntracked > 0)
		check_untracked(&s, repo);
	out->clean = !scan_stopped(&s);
	out->files = s.files;
	out->submodules = s.submodules;
	out->unsure = s.unsure;
	for (size_t i = 0; i < s.njobs; i++)
		free(s.jobs[i].dir);
	free(s.jobs);
	for (size_t i = 0; i < s.nuntracked; i++)
		free(s.untracked[i]);
	free(s.untracked);
	if (s.top_fd >= 0)
		close(s.top_fd);
	pthread_cond_destroy(&s.wake);
	pthread_mutex_destroy(&s.lock);
}

void aero_worktree_scan_free(struct aero_worktree_scan *out)
{
	free(out->unsure);
	memset(out, 0, sizeof(*out));
}
