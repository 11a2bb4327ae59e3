/* The pristine check. libgit2's status walk finds what is modified, staged or
 * untracked (ignored files are skipped: they never reach the image); each
 * submodule is asked separately, since libgit2's status would only say
 * "modified" for it. The walk is single-threaded and reads every tree of HEAD,
 * so a clean tree is first proven clean the way git status does it: the
 * index's cache-tree against HEAD's tree, and the stat data of the working
 * tree against the index's on every CPU. Only what those cannot vouch for
 * goes to the walk, which also names the paths of a refusal. */
#include "pristine.h"

#include "error.h"
#include "git.h"
#include "git_index.h"
#include "log.h"
#include "status.h"
#include "worktree_scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int add_path(struct aero_dirty_list *list, const char *kind, const char *path)
{
	struct aero_dirty_path *bigger =
	        realloc(list->paths, (list->count + 1) * sizeof(*list->paths));
	if (bigger == NULL)
		return aero_error_set("out of memory");
	list->paths = bigger;
	bigger[list->count].kind = kind;
	bigger[list->count].path = strdup(path);
	if (bigger[list->count].path == NULL)
		return aero_error_set("out of memory");
	list->count++;
	return 0;
}

/* The word for one status entry: the index side first, since a staged change
 * is what the next commit would hold. */
static const char *kind_of(unsigned int status)
{
	if (status & GIT_STATUS_CONFLICTED)
		return "conflicted";
	if (status & (GIT_STATUS_INDEX_NEW | GIT_STATUS_INDEX_MODIFIED | GIT_STATUS_INDEX_DELETED |
	              GIT_STATUS_INDEX_RENAMED | GIT_STATUS_INDEX_TYPECHANGE))
		return "staged";
	if (status & GIT_STATUS_WT_NEW)
		return "untracked";
	if (status & GIT_STATUS_WT_DELETED)
		return "deleted";
	return "modified";
}

static int check_status(git_repository *repo, struct aero_dirty_list *list)
{
	git_status_options opts;
	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
	             GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	git_status_list *status = NULL;
	if (git_status_list_new(&status, repo, &opts) != 0)
		return aero_git_error("cannot read the status of the working tree");
	const size_t n = git_status_list_entrycount(status);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const git_status_entry *e = git_status_byindex(status, i);
		if (e->status == GIT_STATUS_CURRENT || (e->status & GIT_STATUS_IGNORED))
			continue;
		const git_diff_delta *d =
		        e->index_to_workdir != NULL ? e->index_to_workdir : e->head_to_index;
		const char *path = d->new_file.path != NULL ? d->new_file.path : d->old_file.path;
		rc = add_path(list, kind_of(e->status), path);
	}
	git_status_list_free(status);
	return rc;
}

static int check_submodule(git_submodule *sm, const char *name, void *payload)
{
	struct aero_dirty_list *list = payload;
	unsigned int flags = 0;
	if (git_submodule_status(&flags, git_submodule_owner(sm), name,
	                         GIT_SUBMODULE_IGNORE_NONE) != 0) {
		aero_git_error("cannot read the status of a submodule");
		return GIT_EUSER;
	}
	const char *kind = NULL;
	if (flags & GIT_SUBMODULE_STATUS_WD_UNINITIALIZED)
		kind = NULL; /* not checked out: its committed tree is what counts */
	else if (flags & (GIT_SUBMODULE_STATUS_INDEX_ADDED | GIT_SUBMODULE_STATUS_INDEX_DELETED |
	                  GIT_SUBMODULE_STATUS_INDEX_MODIFIED))
		kind = "staged";
	else if (flags & GIT_SUBMODULE_STATUS_WD_MODIFIED)
		kind = "submodule at another commit";
	else if (flags &
	         (GIT_SUBMODULE_STATUS_WD_INDEX_MODIFIED | GIT_SUBMODULE_STATUS_WD_WD_MODIFIED))
		kind = "submodule modified";
	else if (flags & GIT_SUBMODULE_STATUS_WD_UNTRACKED)
		kind = "submodule untracked";
	else if (flags & (GIT_SUBMODULE_STATUS_WD_ADDED | GIT_SUBMODULE_STATUS_WD_DELETED))
		kind = "submodule";
	if (kind != NULL && add_path(list, kind, git_submodule_path(sm)) < 0)
		return GIT_EUSER;
	return 0;
}

/* Whether the index holds HEAD's tree exactly (nothing staged): by the root
 * of its cache-tree (the TREE extension git keeps whole after commit, checkout
 * and reset), with no tree object read; else by libgit2's diff of HEAD's tree
 * with the index. */
static bool index_is_head(git_repository *repo, const struct aero_git_index *read)
{
	git_commit *head = NULL;
	git_oid head_id;
	if (git_reference_name_to_id(&head_id, repo, "HEAD") != 0 ||
	    git_commit_lookup(&head, repo, &head_id) != 0) {
		git_error_clear();
		return false;
	}
	bool same = false;
	if (read->tree_whole) {
		git_oid tree;
		same = git_oid_fromraw(&tree, read->tree) == 0 &&
		       git_oid_equal(&tree, git_commit_tree_id(head));
		aero_log_info("pristine check: the index's cache-tree %s HEAD's tree",
		              same ? "is" : "is not");
	} else {
		git_index *index = NULL;
		git_tree *tree = NULL;
		git_diff *diff = NULL;
		git_diff_options opts;
		git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
		/* As the status walk compares them: a submodule's commit is the
		 * submodule check's to judge. */
		opts.flags = GIT_DIFF_IGNORE_SUBMODULES | GIT_DIFF_INCLUDE_TYPECHANGE;
		same = git_repository_index(&index, repo) == 0 &&
		       git_commit_tree(&tree, head) == 0 &&
		       git_diff_tree_to_index(&diff, repo, tree, index, &opts) == 0 &&
		       git_diff_num_deltas(diff) == 0;
		git_error_clear();
		aero_log_info("pristine check: the index has no whole cache-tree; a diff says it "
		              "%s HEAD's tree",
		              same ? "is" : "is not");
		git_diff_free(diff);
		git_tree_free(tree);
		git_index_free(index);
	}
	git_commit_free(head);
	return same;
}

/* Whether the repository can have no submodule at all: libgit2 finds them in
 * .gitmodules, the index and HEAD's tree, and reading all of HEAD's trees to
 * learn that is most of the time git_submodule_foreach takes. */
static bool no_submodules(git_repository *repo, const struct aero_worktree_scan *scan)
{
	char *path = NULL;
	struct stat st;
	if (scan->submodules > 0 ||
	    asprintf(&path, "%s.gitmodules", git_repository_workdir(repo)) < 0)
		return false;
	const bool none = lstat(path, &st) != 0 && errno == ENOENT;
	free(path);
	return none;
}

/* Whether the tree is proven pristine without the status walk, and (when
 * *no_submodule) that there is no submodule to ask. False means unsure: the
 * walk decides. */
static bool proven_clean(git_repository *repo, bool *no_submodule)
{
	char *path = NULL;
	struct aero_git_index index;
	if (asprintf(&path, "%sindex", git_repository_path(repo)) < 0)
		return false;
	const int rc = aero_git_index_read(path, &index);
	free(path);
	if (rc < 0) {
		aero_log_info("pristine check: %s; asking libgit2's status walk",
		              aero_error_last());
		return false;
	}
	struct aero_worktree_scan scan;
	aero_worktree_scan(repo, &index, &scan);
	if (scan.clean)
		aero_log_info("pristine check: the stat data of %zu tracked files match the index; "
		              "nothing untracked",
		              scan.files);
	else
		aero_log_info("pristine check: the working tree scan is unsure (%s); asking "
		              "libgit2's status walk",
		              scan.unsure != NULL ? scan.unsure : "out of memory");
	const bool clean = scan.clean && index_is_head(repo, &index);
	/* The index is HEAD's tree: no gitlink in one, none in the other. */
	*no_submodule = clean && no_submodules(repo, &scan);
	aero_worktree_scan_free(&scan);
	aero_git_index_free(&index);
	return clean;
}

int aero_pristine_check(git_repository *repo, struct aero_dirty_list *list)
{
	memset(list, 0, sizeof(*list));
	bool no_submodule = false;
	if (!proven_clean(repo, &no_submodule) && check_status(repo, list) < 0)
		return -AERO_EXIT_INTERNAL;
	if (no_submodule) {
		aero_log_info("pristine check: no .gitmodules and no gitlink: no submodule to ask");
		return 0;
	}
	const int rc = git_submodule_foreach(repo, check_submodule, list);
	if (rc < 0) {
		if (rc != GIT_EUSER)
			aero_git_error("cannot list the submodules");
		return -AERO_EXIT_INTERNAL;
	}
	return 0;
}

void aero_dirty_list_free(struct aero_dirty_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->paths[i].path);
	free(list->paths);
	memset(list, 0, sizeof(*list));
}

void aero_dirty_list_report(const struct aero_dirty_list *list, size_t max)
{
	fprintf(stderr,
	        "aero-launch: refusing to run: the working tree is not pristine (%zu path%s); "
	        "commit or stash the changes, or add the files to .gitignore:\n",
	        list->count, list->count == 1 ? "" : "s");
	for (size_t i = 0; i < list->count && i < max; i++)
		fprintf(stderr, "  %-12s %s\n", list->paths[i].kind, list->paths[i].path);
	if (list->count > max)
		fprintf(stderr, "  ... and %zu more\n", list->count - max);
}
