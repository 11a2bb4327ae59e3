/* Opening the repository and reading its provenance with libgit2. */
#include "git.h"

#include "error.h"
#include "redact.h"
#include "status.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void aero_git_init(void)
{
	static int done;
	if (!done) {
		git_libgit2_init();
		/* libgit2 hashes every object again as it reads it; git itself (git
		 * archive, git status) does not. Streaming a 1 GiB context, that check
		 * was two thirds of the time. The objects come from the user's own
		 * repository, which `git fsck` checks. */
		(void)git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
		done = 1;
	}
}

int aero_git_error(const char *doing)
{
	const git_error *e = git_error_last();
	return aero_error_set("%s: %s", doing,
	                      e != NULL && e->message != NULL ? e->message : "failed");
}

/* The directory at or above path that holds a ".git", malloc'd; NULL when none. */
static char *find_worktree(const char *path)
{
	char *dir = realpath(path, NULL);
	while (dir != NULL) {
		const size_t len = strlen(dir);
		char *dotgit = malloc(len + sizeof("/.git"));
		if (dotgit == NULL)
			break;
		(void)snprintf(dotgit, len + sizeof("/.git"), "%s/.git", dir);
		struct stat st;
		const int found = lstat(dotgit, &st) == 0;
		free(dotgit);
		if (found)
			return dir;
		char *slash = strrchr(dir, '/');
		if (slash == NULL || len == 1)
			break;
		slash[slash == dir ? 1 : 0] = '\0';
	}
	free(dir);
	return NULL;
}

/* libgit2 1.5 refuses a repository owned by another user, and with no
 * safe.directory configured at all it says "not found": tell the truth. */
static int explain_not_found(const char *path)
{
	char *worktree = find_worktree(path);
	struct stat st;
	if (worktree == NULL || stat(worktree, &st) != 0) {
		free(worktree);
		aero_error_set("'%s' is not in a Git repository: run aero-launch from your "
		               "project's checkout (or 'git init' and commit it first)",
		               path);
		return -AERO_EXIT_REPO;
	}
	if (st.st_uid != geteuid()) {
		aero_error_set(
		        "the repository at '%s' is owned by uid %u, not by you (uid %u), and "
		        "Git refuses such repositories for safety: if you trust it, run "
		        "'git config --global --add safe.directory %s' (an exact path: "
		        "libgit2 1.5 does not understand '*'), or run as its owner",
		        worktree, (unsigned)st.st_uid, (unsigned)geteuid(), worktree);
	} else {
		aero_error_set("'%s' looks like a Git repository but libgit2 cannot open it: %s",
		               worktree,
		               git_error_last() != NULL ? git_error_last()->message : "unknown");
	}
	free(worktree);
	return -AERO_EXIT_REPO;
}

int aero_git_open(const char *path, git_repository **out)
{
	*out = NULL;
	const int rc = git_repository_open_ext(out, path, 0, NULL);
	if (rc == 0)
		return 0;
	if (rc == GIT_ENOTFOUND || rc == GIT_EOWNER)
		return explain_not_found(path);
	const git_error *e = git_error_last();
	const char *msg = e != NULL && e->message != NULL ? e->message : "unknown error";
	if (strstr(msg, "extension") != NULL) {
		aero_error_set(
		        "cannot read the repository at '%s': %s; libgit2 1.5 cannot read "
		        "repositories that use it (worktreeConfig or sparse checkout, partial "
		        "clone, another object format): turn it off ('git sparse-checkout "
		        "disable', 'git config --unset extensions.worktreeConfig') or use a "
		        "plain clone",
		        path, msg);
		return -AERO_EXIT_REPO;
	}
	aero_error_set("cannot open the repository at '%s': %s", path, msg);
	return -AERO_EXIT_REPO;
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* The URL of the named remote without credentials (it goes into image labels,
 * manifests and trackers), malloc'd; NULL when there is none. */
static char *remote_url(git_repository *repo, const char *name)
{
	git_remote *remote = NULL;
	if (name == NULL || git_remote_lookup(&remote, repo, name) != 0)
		return NULL;
	const char *raw = git_remote_url(remote);
	char *url = raw != NULL ? aero_url_without_credentials(raw) : NULL;
	git_remote_free(remote);
	return url;
}

/* A branch: pushed when it has an upstream and is not ahead of it. */
static int read_upstream(git_repository *repo, git_reference *head, const git_oid *commit,
                         struct aero_git_facts *facts)
{
	git_reference *up = NULL;
	const int rc = git_branch_upstream(&up, head);
	if (rc == GIT_ENOTFOUND) {
		facts->remote = strdup("origin"); /* for the record; not pushed */
		facts->remote_url = remote_url(repo, facts->remote);
		if (facts->remote_url == NULL) {
			free(facts->remote);
			facts->remote = NULL;
		}
		return 0;
	}
	if (rc != 0)
		return aero_git_error("cannot read the upstream of HEAD");
	const char *up_name = NULL;
	git_buf remote = {0};
	int out = 0;
	if (git_branch_name(&up_name, up) == 0)
		facts->upstream = dup_or_null(up_name);
	if (git_branch_upstream_remote(&remote, repo, git_reference_name(head)) == 0) {
		facts->remote = dup_or_null(remote.ptr);
		facts->remote_url = remote_url(repo, remote.ptr);
	}
	git_buf_dispose(&remote);
	const git_oid *up_oid = git_reference_target(up);
	size_t ahead = 0;
	size_t behind = 0;
	if (up_oid != NULL && git_graph_ahead_behind(&ahead, &behind, repo, commit, up_oid) == 0)
		facts->pushed = ahead == 0;
	else
		out = aero_git_error("cannot compare HEAD with its upstream");
	git_reference_free(up);
	return out;
}

/* A detached HEAD (a CI checkout, a tag): pushed when some remote-tracking
 * branch contains it; the remote is that branch's. */
static int read_detached(git_repository *repo, const git_oid *commit, struct aero_git_facts *facts)
{
	git_reference_iterator *it = NULL;
	if (git_reference_iterator_glob_new(&it, repo, "refs/remotes/*") != 0)
		return aero_git_error("cannot list remote-tracking branches");
	git_reference *ref = NULL;
	while (!facts->pushed && git_reference_next(&ref, it) == 0) {
		const git_oid *tip = git_reference_target(ref);
		if (tip != NULL && (git_oid_equal(tip, commit) ||
		                    git_graph_descendant_of(repo, tip, commit) == 1)) {
			const char *name = git_reference_name(ref) + strlen("refs/remotes/");
			const char *slash = strchr(name, '/');
			facts->pushed = true;
			facts->remote =
			        slash != NULL ? strndup(name, (size_t)(slash - name)) : NULL;
		}
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (facts->remote == NULL)
		facts->remote = strdup("origin");
	facts->remote_url = remote_url(repo, facts->remote);
	if (facts->remote_url == NULL) {
		free(facts->remote);
		facts->remote = NULL;
	}
	return 0;
}

int aero_git_facts_read(git_repository *repo, struct aero_git_facts *facts)
{
	memset(facts, 0, sizeof(*facts));
	if (git_repository_head_unborn(repo) == 1) {
		aero_error_set("HEAD has no commit yet: commit your code first ('git add -A && "
		               "git commit'), then run again");
		return -AERO_EXIT_UNBORN;
	}
	const char *workdir = git_repository_workdir(repo);
	if (workdir == NULL) {
		aero_error_set("the repository is bare: run aero-launch in a checkout");
		return -AERO_EXIT_REPO;
	}
	facts->workdir = strdup(workdir);
	git_reference *head = NULL;
	if (git_repository_head(&head, repo) != 0) {
		aero_git_error("cannot read HEAD");
		return -AERO_EXIT_REPO;
	}
	git_commit *commit = NULL;
	const git_oid *oid = git_reference_target(head);
	int rc = oid != NULL && git_commit_lookup(&commit, repo, oid) == 0
	                 ? 0
	                 : aero_git_error("cannot read the commit at HEAD");
	if (rc == 0) {
		git_oid_tostr(facts->commit, sizeof(facts->commit), oid);
		(void)snprintf(facts->short_commit, sizeof(facts->short_commit), "%.12s",
		               facts->commit);
		facts->message = dup_or_null(git_commit_message(commit));
		facts->detached = git_repository_head_detached(repo) == 1;
		const char *branch = NULL;
		if (!facts->detached && git_branch_name(&branch, head) == 0)
			facts->branch = dup_or_null(branch);
		rc = facts->detached ? read_detached(repo, oid, facts)
		                     : read_upstream(repo, head, oid, facts);
	}
	git_commit_free(commit);
	git_reference_free(head);
	if (rc == 0 && (facts->workdir == NULL || facts->message == NULL ||
	                (!facts->detached && facts->branch == NULL)))
		rc = aero_error_set("out of memory");
	return rc < 0 ? (rc == -1 ? -AERO_EXIT_INTERNAL : rc) : 0;
}

void aero_git_facts_free(struct aero_git_facts *facts)
{
	free(facts->workdir);
	free(facts->branch);
	free(facts->upstream);
	free(facts->remote);
	free(facts->remote_url);
	free(facts->message);
	memset(facts, 0, sizeof(*facts));
}
