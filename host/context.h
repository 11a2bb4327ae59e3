/* The build context: a tar of a commit's tree, made from Git's objects and
 * never from the working directory, so nothing uncommitted or ignored can
 * reach the image. It is produced on demand, a buffer at a time, so that a
 * large tree streams to the engine without being held in memory. */
#ifndef AERO_HOST_CONTEXT_H
#define AERO_HOST_CONTEXT_H

#include <git2.h>
#include <stddef.h>
#include <sys/types.h>

struct aero_context;

/* Lists the tree of commit (submodules' committed trees included, when their
 * repositories are present) into *out. 0, or -1 with aero_error set. */
int aero_context_new(git_repository *repo, const git_oid *commit, struct aero_context **out);

/* Fills up to len bytes of the tar; returns the count, 0 at the end, -1 with
 * aero_error set on failure. */
ssize_t aero_context_read(struct aero_context *ctx, char *buf, size_t len);

/* Whether the tree holds a regular file at path. */
int aero_context_has_file(const struct aero_context *ctx, const char *path);

/* Frees the context and what it holds. */
void aero_context_free(struct aero_context *ctx);

#endif
