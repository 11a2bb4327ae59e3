/* A worktree made for one run and removed after it. libgit2 makes a worktree
 * on a branch only, so a temporary branch is made at the commit; the worktree's
 * HEAD is then detached, so that the run records the commit without a branch
 * name of ours (and whether it is pushed, as for any detached HEAD). */
#include "worktree_temp.h"

#include "error.h"
#include "git.h"
#include "runsdir.h"
#include "status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int aero_worktree_commit_check(git_repository *repo, const char *commit)
{
	git_oid oid;
	if (strlen(commit) != GIT_OID_HEXSZ || git_oid_fromstr(&oid, commit) != 0) {
		aero_error_set("'%s' is not a commit's full hash", commit);
		return -AERO_EXIT_NO_COMMIT;
	}
	git_commit *found = NULL;
	const int rc = git_commit_lookup(&found, repo, &oid);
	git_commit_free(found);
	if (rc == 0)
		return 0;
	if (rc == GIT_ENOTFOUND) {
		aero_error_set("commit %.12s is not in this repository", commit);
		return -AERO_EXIT_NO_COMMIT;
	}
	aero_git_error("cannot read commit");
	return -AERO_EXIT_INTERNAL;
}

static char *joined(const char *a, const char *b)
{
	const size_t len = strlen(a) + strlen(b) + 1;
	char *s = malloc(len);
	if (s != NULL)
		(void)snprintf(s, len, "%s%s", a, b);
	return s;
}

/* The checkout's directory name, so that the tree looks like it (an image
 * built from it is named after it by default); "tree" for a bare repository. */
static char *tree_name(git_repository *repo)
{
	const char *workdir = git_repository_workdir(repo);
	size_t end = workdir != NULL ? strlen(workdir) : 0;
	while (end > 0 && workdir[end - 1] == '/')
		end--;
	size_t start = end;
	while (start > 0 && workdir[start - 1] != '/')
		start--;
	return end > start ? strndup(workdir + start, end - start) : strdup("tree");
}

/* Names and the directory; the tree itself does not exist yet (libgit2 makes it). */
static int names_make(git_repository *repo, const char *tag, struct aero_worktree_temp *wt)
{
	const char *tmp = getenv("TMPDIR");
	char *pattern =
	        aero_path_join(tmp != NULL && tmp[0] == '/' ? tmp : "/tmp", "aero-rerun-XXXXXX");
	wt->name = joined("aero-rerun-", tag);
	wt->branch = joined("aeromancy/rerun-", tag);
	if (pattern == NULL || wt->name == NULL || wt->branch == NULL) {
		free(pattern);
		return aero_error_set("out of memory");
	}
	if (mkdtemp(pattern) == NULL) {
		aero_error_set("cannot make a directory like %s: %s", pattern, strerror(errno));
		free(pattern);
		return -1;
	}
	wt->dir = pattern;
	char *name = tree_name(repo);
	wt->path = name != NULL ? aero_path_join(wt->dir, name) : NULL;
	free(name);
	return wt->path != NULL ? 0 : aero_error_set("out of memory");
}

static int detach_head(git_worktree *worktree, const git_oid *oid)
{
	git_repository *tree = NULL;
	int rc = git_repository_open_from_worktree(&tree, worktree);
	if (rc == 0)
		rc = git_repository_set_head_detached(tree, oid);
	git_repository_free(tree);
	return rc == 0 ? 0 : aero_git_error("cannot detach the worktree's HEAD");
}

int aero_worktree_temp_add(git_repository *repo, const char *commit, const char *tag,
                           struct aero_worktree_temp *wt)
{
	memset(wt, 0, sizeof(*wt));
	int rc = aero_worktree_commit_check(repo, commit);
	if (rc < 0)
		return rc;
	git_oid oid;
	git_commit *target = NULL;
	git_reference *branch = NULL;
	git_worktree *worktree = NULL;
	if (names_make(repo, tag, wt) < 0) {
		if (wt->dir != NULL)
			(void)rmdir(wt->dir);
		aero_worktree_temp_free(wt);
		return -AERO_EXIT_INTERNAL;
	}
	git_worktree_add_options opts;
	if (git_worktree_add_options_init(&opts, GIT_WORKTREE_ADD_OPTIONS_VERSION) != 0 ||
	    git_oid_fromstr(&oid, commit) != 0 || git_commit_lookup(&target, repo, &oid) != 0 ||
	    git_branch_create(&branch, repo, wt->branch, target, 0) != 0) {
		rc = aero_git_error("cannot make a branch at the commit");
	} else {
		opts.ref = branch;
		opts.checkout_options.checkout_strategy = GIT_CHECKOUT_FORCE;
		rc = git_worktree_add(&worktree, repo, wt->name, wt->path, &opts) != 0
		             ? aero_git_error("cannot make a worktree of the commit")
		             : detach_head(worktree, &oid);
	}
	git_worktree_free(worktree);
	git_reference_free(branch);
	git_commit_free(target);
	if (rc < 0) {
		/* Whatever was made goes; the error stays the first one. */
		char *why = strdup(aero_error_last());
		(void)aero_worktree_temp_remove(repo, wt);
		if (why != NULL)
			aero_error_set("%s", why);
		free(why);
		aero_worktree_temp_free(wt);
		return -AERO_EXIT_INTERNAL;
	}
	return 0;
}

int aero_worktree_temp_remove(git_repository *repo, const struct aero_worktree_temp *wt)
{
	git_worktree *worktree = NULL;
	git_worktree_prune_options opts;
	(void)git_worktree_prune_options_init(&opts, GIT_WORKTREE_PRUNE_OPTIONS_VERSION);
	opts.flags = GIT_WORKTREE_PRUNE_VALID | GIT_WORKTREE_PRUNE_LOCKED |
	             GIT_WORKTREE_PRUNE_WORKING_TREE;
	int failed = 0;
	const int found = git_worktree_lookup(&worktree, repo, wt->name);
	if (found == 0)
		failed |= git_worktree_prune(worktree, &opts) != 0;
	else
		failed |= found != GIT_ENOTFOUND;
	git_worktree_free(worktree);
	git_reference *branch = NULL;
	const int has_branch = git_branch_lookup(&branch, repo, wt->branch, GIT_BRANCH_LOCAL);
	/* The reference alone: the branch has no configuration to remove, and
	 * git_branch_delete's removal of it leaks pcre2 match data in libgit2 1.5. */
	if (has_branch == 0)
		failed |= git_reference_delete(branch) != 0;
	else
		failed |= has_branch != GIT_ENOTFOUND;
	git_reference_free(branch);
	struct stat st;
	if (wt->dir != NULL && rmdir(wt->dir) != 0 && errno != ENOENT)
		failed = 1;
	if (!failed && (wt->dir == NULL || stat(wt->dir, &st) != 0))
		return 0;
	const git_error *e = git_error_last();
	return aero_error_set("cannot remove the worktree %s (%s); remove it with 'git worktree "
	                      "remove --force %s', 'git branch -D %s' and 'rm -r %s'",
	                      wt->path, e != NULL && e->message != NULL ? e->message : "failed",
	                      wt->path, wt->branch, wt->dir);
}

void aero_worktree_temp_free(struct aero_worktree_temp *wt)
{
	free(wt->dir);
	free(wt->path);
	free(wt->name);
	free(wt->branch);
	memset(wt, 0, sizeof(*wt));
}
