/* The experiment's repository: opening it with libgit2 (with errors a user can
 * act on) and the provenance facts a run records. */
#ifndef AERO_HOST_GIT_H
#define AERO_HOST_GIT_H

#include <git2.h>
#include <stdbool.h>

/* What a run records about its code. Strings are malloc'd; NULL when absent. */
struct aero_git_facts {
	char commit[GIT_OID_HEXSZ + 1];
	char short_commit[13];
	char *workdir;    /* the working tree, with a trailing '/' */
	char *branch;     /* short name; NULL when HEAD is detached */
	char *upstream;   /* "origin/main"; NULL when none */
	char *remote;     /* the remote's name ("origin"); NULL when none */
	char *remote_url; /* the remote's URL; NULL when none */
	char *message;    /* the commit message, whole */
	bool detached;
	bool pushed; /* the commit is on its upstream (detached: on some remote-tracking branch) */
};

/* Initialises libgit2 once; call before any other function here. */
void aero_git_init(void);

/* Opens the repository that holds path (searching upwards). Returns 0, or
 * -AERO_EXIT_REPO with aero_error naming the cause and the fix (not a
 * repository, owned by someone else, an extension libgit2 cannot read). */
int aero_git_open(const char *path, git_repository **out);

/* Reads commit, branch, upstream, remote and message. Returns 0,
 * -AERO_EXIT_UNBORN when HEAD has no commit, or -AERO_EXIT_INTERNAL. */
int aero_git_facts_read(git_repository *repo, struct aero_git_facts *facts);

/* Frees what facts hold. */
void aero_git_facts_free(struct aero_git_facts *facts);

/* Sets aero_error to the last libgit2 error, prefixed by what was being done; returns -1. */
int aero_git_error(const char *doing);

#endif
