/* Git's index file (.git/index, versions 2 to 4), read without libgit2: its
 * entries' paths and stat data and the root of its cache-tree, which is all
 * the pristine check's fast path needs. libgit2 1.5 takes about 0.1 s to load
 * an index of 100,000 entries (each allocated and hashed into a map); this
 * takes a few milliseconds. Anything it does not know (a required extension
 * such as a split or sparse index, a version it cannot read) is an error, and
 * the caller leaves the index to libgit2. */
#ifndef AERO_HOST_GIT_INDEX_H
#define AERO_HOST_GIT_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AERO_GIT_OID_SIZE 20

/* The stage bits of flags; a merge conflict's entries have a stage above 0. */
#define AERO_GIT_INDEX_STAGE_MASK 0x3000u
#define AERO_GIT_INDEX_STAGE_SHIFT 12
/* In flags_extended: `git add -N`, and sparse checkout's skip-worktree. */
#define AERO_GIT_INDEX_INTENT_TO_ADD 0x2000u
#define AERO_GIT_INDEX_SKIP_WORKTREE 0x4000u

/* One entry, as git wrote it (times and sizes truncated to 32 bits). */
struct aero_git_index_entry {
	const char *path; /* from the top of the working tree, '/'-separated */
	uint32_t ctime_sec, ctime_nsec, mtime_sec, mtime_nsec;
	uint32_t dev, ino, mode, uid, gid, size;
	uint16_t flags, flags_extended;
	unsigned char oid[AERO_GIT_OID_SIZE];
};

struct aero_git_index {
	struct aero_git_index_entry *entries; /* in the index's order */
	size_t count;
	bool tree_whole; /* the cache-tree's root is valid: tree is the index's tree */
	unsigned char tree[AERO_GIT_OID_SIZE];
	int64_t mtime_sec; /* the file's, as read (for the racy-git check) */
	char *paths;       /* where the entries' paths lie */
};

/* Parses an index file's bytes (its SHA-1 trailer checked). Returns 0, or -1
 * with aero_error saying what it cannot read. Frees nothing on failure but
 * what it made. */
int aero_git_index_parse(const unsigned char *data, size_t len, struct aero_git_index *out);

/* Reads and parses the index file at path, recording its mtime. Returns 0,
 * or -1 with aero_error set. */
int aero_git_index_read(const char *path, struct aero_git_index *out);

/* Frees what index holds. */
void aero_git_index_free(struct aero_git_index *index);

#endif
