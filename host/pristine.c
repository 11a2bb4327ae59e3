/* The pristine check. libgit2's status walk finds what is modified, staged or
 * untracked (ignored files are skipped: they never reach the image); each
 * submodule is asked separately, since libgit2's status would only say
 * "modified" for it. */
#include "pristine.h"

#include "error.h"
#include "git.h"
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int aero_pristine_check(git_repository *repo, struct aero_dirty_list *list)
{
	memset(list, 0, sizeof(*list));
	if (check_status(repo, list) < 0)
		return -AERO_EXIT_INTERNAL;
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
