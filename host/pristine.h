/* The pristine check: nothing modified, staged, or untracked and not ignored,
 * in the repository and in its submodules. */
#ifndef AERO_HOST_PRISTINE_H
#define AERO_HOST_PRISTINE_H

#include <git2.h>
#include <stddef.h>

/* One path that keeps the tree from being pristine. */
struct aero_dirty_path {
	const char *kind; /* "modified", "staged", "untracked", "deleted", "submodule", ... */
	char *path;
};

struct aero_dirty_list {
	struct aero_dirty_path *paths;
	size_t count;
};

/* Fills list with every offending path (none: pristine). Returns 0, or
 * -AERO_EXIT_INTERNAL / -AERO_EXIT_REPO with aero_error set. */
int aero_pristine_check(git_repository *repo, struct aero_dirty_list *list);

/* Frees the list's paths. */
void aero_dirty_list_free(struct aero_dirty_list *list);

/* Prints the refusal: a sentence with the count and the fix, then the paths
 * (at most max, then how many more), on stderr. */
void aero_dirty_list_report(const struct aero_dirty_list *list, size_t max);

#endif
