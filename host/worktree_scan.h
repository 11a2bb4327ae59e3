/* The pristine check's fast path for the working tree: every tracked file's
 * stat data against the index's, on one thread per CPU (as git status's
 * preloaded index does), and every name the index does not hold against
 * .gitignore. It can only prove a tree clean; whatever it cannot vouch for
 * makes it unsure, and libgit2's status walk decides. */
#ifndef AERO_HOST_WORKTREE_SCAN_H
#define AERO_HOST_WORKTREE_SCAN_H

#include "git_index.h"

#include <git2.h>
#include <stdbool.h>
#include <stddef.h>

/* What a scan found. */
struct aero_worktree_scan {
	bool clean;   /* every tracked file is as the index says; nothing untracked to report */
	size_t files; /* the tracked files whose stat data was compared */
	size_t submodules; /* the submodules (gitlinks) the index holds */
	char *unsure;      /* when not clean: the first reason, for -v (malloc'd; NULL if none) */
};

/* Scans the working tree of repo against index (the repository's own index
 * file, as read). Never fails: an error (out of memory, a directory it cannot
 * read) leaves it unsure. Reads only; writes nothing anywhere. */
void aero_worktree_scan(git_repository *repo, const struct aero_git_index *index,
                        struct aero_worktree_scan *out);

/* Frees what out holds. */
void aero_worktree_scan_free(struct aero_worktree_scan *out);

#endif
