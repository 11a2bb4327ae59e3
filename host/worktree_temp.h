/* A temporary Git worktree of one commit, made and removed with libgit2: where
 * `aero-launch rerun` runs a past run's code without touching the checkout. */
#ifndef AERO_HOST_WORKTREE_TEMP_H
#define AERO_HOST_WORKTREE_TEMP_H

#include <git2.h>

struct aero_worktree_temp {
	char *dir;    /* the mkdtemp directory that holds it */
	char *path;   /* the working tree: dir/NAME, NAME the checkout's own directory's */
	char *name;   /* its name under .git/worktrees: aero-rerun-TAG */
	char *branch; /* the branch libgit2 needs to make it: aeromancy/rerun-TAG */
};

/* Whether repo holds commit (40 hex digits). 0; -AERO_EXIT_NO_COMMIT when it
 * does not (aero_error says so); -AERO_EXIT_INTERNAL. */
int aero_worktree_commit_check(git_repository *repo, const char *commit);

/* Makes a worktree of repo with commit checked out, its HEAD detached, under a
 * new directory in TMPDIR (else /tmp); tag (a run id) names its branch. 0, or
 * -AERO_EXIT_NO_COMMIT / -AERO_EXIT_INTERNAL with aero_error set and nothing
 * left behind. */
int aero_worktree_temp_add(git_repository *repo, const char *commit, const char *tag,
                           struct aero_worktree_temp *wt);

/* Prunes the worktree, removes its directory and deletes its branch. 0, or -1
 * with aero_error naming what is left and the commands that remove it. */
int aero_worktree_temp_remove(git_repository *repo, const struct aero_worktree_temp *wt);

/* Frees what wt holds (the worktree itself stays). */
void aero_worktree_temp_free(struct aero_worktree_temp *wt);

#endif
