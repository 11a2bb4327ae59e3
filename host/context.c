/* The build context as a ustar stream with pax headers for long names, made
 * from a commit's tree: regular files keep the executable bit, symlinks stay
 * symlinks, every time stamp is the commit's, owners are root. */
#include "context.h"

#include "error.h"
#include "git.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK ((size_t)512)

struct entry {
	char *path;
	git_filemode_t mode;
	git_oid oid;
	git_repository *repo; /* where the blob lives: the project's or a submodule's */
};

struct aero_context {
	struct entry *entries;
	size_t count;
	git_repository **subrepos; /* opened submodules, freed at the end */
	size_t subrepo_count;
	int64_t mtime;
	/* The reader's position: the header of entry `next`, then its data. */
	size_t next;
	char *header;
	size_t header_len, header_off;
	git_blob *blob;
	const char *data;
	size_t data_len, data_off;
	bool finished;
};

/* Appends e (whose path the list then owns). */
static int add_entry(struct aero_context *ctx, const struct entry *e)
{
	struct entry *bigger = realloc(ctx->entries, (ctx->count + 1) * sizeof(*bigger));
	if (bigger == NULL) {
		aero_error_set("out of memory");
		return -1;
	}
	ctx->entries = bigger;
	bigger[ctx->count++] = *e;
	return 0;
}

static char *join(const char *prefix, const char *name, const char *suffix)
{
	const size_t len = strlen(prefix) + strlen(name) + strlen(suffix) + 1;
	char *s = malloc(len);
	if (s != NULL)
		(void)snprintf(s, len, "%s%s%s", prefix, name, suffix);
	return s;
}

static int list_tree(struct aero_context *ctx, git_repository *repo, const git_tree *tree,
                     const char *prefix);

/* A submodule: its committed tree when its repository is here, else an
 * empty directory (as git archive makes). */
static int list_submodule(struct aero_context *ctx, git_repository *repo, const char *path,
                          const git_oid *commit_id)
{
	git_submodule *sm = NULL;
	git_repository *sub = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	const size_t len = strlen(path);
	char *relative = strndup(path, len > 0 ? len - 1 : 0); /* without the '/' */
	if (relative == NULL)
		return aero_error_set("out of memory");
	const bool present = git_submodule_lookup(&sm, repo, relative) == 0 &&
	                     git_submodule_open(&sub, sm) == 0 &&
	                     git_commit_lookup(&commit, sub, commit_id) == 0 &&
	                     git_commit_tree(&tree, commit) == 0;
	free(relative);
	git_submodule_free(sm);
	git_commit_free(commit);
	int rc = 0;
	if (present) {
		git_repository **bigger =
		        realloc(ctx->subrepos, (ctx->subrepo_count + 1) * sizeof(git_repository *));
		if (bigger == NULL) {
			git_tree_free(tree);
			git_repository_free(sub);
			return aero_error_set("out of memory");
		}
		ctx->subrepos = bigger;
		bigger[ctx->subrepo_count++] = sub;
		rc = list_tree(ctx, sub, tree, path);
	} else {
		git_repository_free(sub);
	}
	git_tree_free(tree);
	return rc;
}

static int list_tree(struct aero_context *ctx, git_repository *repo, const git_tree *tree,
                     const char *prefix)
{
	const size_t n = git_tree_entrycount(tree);
	for (size_t i = 0; i < n; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const git_filemode_t mode = git_tree_entry_filemode(e);
		const bool dir = mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT;
		char *path = join(prefix, git_tree_entry_name(e), dir ? "/" : "");
		if (path == NULL) {
			aero_error_set("out of memory");
			return -1;
		}
		const struct entry listed = {path, dir ? GIT_FILEMODE_TREE : mode,
		                             *git_tree_entry_id(e), repo};
		if (add_entry(ctx, &listed) < 0) {
			free(path);
			return -1;
		}
		int rc = 0;
		if (mode == GIT_FILEMODE_TREE) {
			git_tree *sub = NULL;
			if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) != 0)
				return aero_git_error("cannot read a tree of the commit");
			rc = list_tree(ctx, repo, sub, path);
			git_tree_free(sub);
		} else if (mode == GIT_FILEMODE_COMMIT) {
			rc = list_submodule(ctx, repo, path, git_tree_entry_id(e));
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

int aero_context_new(git_repository *repo, const git_oid *commit_id, struct aero_context **out)
{
	struct aero_context *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return aero_error_set("out of memory");
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	int rc = git_commit_lookup(&commit, repo, commit_id) == 0 &&
	                         git_commit_tree(&tree, commit) == 0
	                 ? 0
	                 : aero_git_error("cannot read the commit's tree");
	if (rc == 0) {
		ctx->mtime = (int64_t)git_commit_time(commit);
		rc = list_tree(ctx, repo, tree, "");
	}
	git_tree_free(tree);
	git_commit_free(commit);
	if (rc < 0) {
		aero_context_free(ctx);
		return -1;
	}
	*out = ctx;
	return 0;
}

int aero_context_has_file(const struct aero_context *ctx, const char *path)
{
	for (size_t i = 0; i < ctx->count; i++)
		if ((ctx->entries[i].mode == GIT_FILEMODE_BLOB ||
		     ctx->entries[i].mode == GIT_FILEMODE_BLOB_EXECUTABLE) &&
		    strcmp(ctx->entries[i].path, path) == 0)
			return 1;
	return 0;
}

/* Writes value as a NUL-terminated octal field of width (at most 12) bytes;
 * a value too large for it is clamped (a pax record carries the real one). */
static void octal(char *field, size_t width, uint64_t value)
{
	const uint64_t max = ((uint64_t)1 << (3 * (width - 1))) - 1;
	char digits[24];
	(void)snprintf(digits, sizeof(digits), "%0*" PRIo64, (int)(width - 1),
	               value < max ? value : max);
	memcpy(field, digits, width);
}

/* Appends one pax record ("LEN key=value\n", LEN counting itself). */
static int pax_record(char **pax, size_t *len, const char *key, const char *value)
{
	const size_t body = strlen(key) + strlen(value) + 3; /* ' ', '=', '\n' */
	size_t total = body + 1;
	while (total != body + (size_t)snprintf(NULL, 0, "%zu", total))
		total++;
	char *bigger = realloc(*pax, *len + total + 1);
	if (bigger == NULL)
		return aero_error_set("out of memory");
	(void)snprintf(bigger + *len, total + 1, "%zu %s=%s\n", total, key, value);
	*pax = bigger;
	*len += total;
	return 0;
}

/* A 512-byte ustar header for name at out. */
static void ustar_header(char *out, const char *name, unsigned mode, uint64_t size, int64_t mtime,
                         char type, const char *link)
{
	memset(out, 0, BLOCK);
	(void)snprintf(out, 100, "%.99s", name);
	octal(out + 100, 8, mode);
	octal(out + 108, 8, 0);
	octal(out + 116, 8, 0);
	octal(out + 124, 12, size);
	octal(out + 136, 12, mtime > 0 ? (uint64_t)mtime : 0);
	out[156] = type;
	if (link != NULL)
		(void)snprintf(out + 157, 100, "%.99s", link);
	memcpy(out + 257, "ustar", 6);
	out[263] = '0';
	out[264] = '0';
	memcpy(out + 265, "root", 5);
	memcpy(out + 297, "root", 5);
	memset(out + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < BLOCK; i++)
		sum += (unsigned char)out[i];
	(void)snprintf(out + 148, 8, "%06o", sum);
	out[155] = ' ';
}

static size_t padded(size_t n)
{
	return (n + BLOCK - 1) / BLOCK * BLOCK;
}

/* Loads the next entry: its header (a pax header first when a name or a
 * size does not fit ustar) and, for files and symlinks, its blob. */
static int load_entry(struct aero_context *ctx)
{
	const struct entry *e = &ctx->entries[ctx->next++];
	git_blob_free(ctx->blob);
	ctx->blob = NULL;
	ctx->data = NULL;
	ctx->data_len = ctx->data_off = 0;
	if (e->mode != GIT_FILEMODE_TREE) {
		if (git_blob_lookup(&ctx->blob, e->repo, &e->oid) != 0)
			return aero_git_error("cannot read a file of the commit");
		ctx->data = git_blob_rawcontent(ctx->blob);
		ctx->data_len = (size_t)git_blob_rawsize(ctx->blob);
	}
	const bool symlink = e->mode == GIT_FILEMODE_LINK;
	char *link = symlink ? strndup(ctx->data, ctx->data_len) : NULL;
	if (symlink && link == NULL)
		return aero_error_set("out of memory");
	char *pax = NULL;
	size_t pax_len = 0;
	int rc = 0;
	if (strlen(e->path) > 99)
		rc = pax_record(&pax, &pax_len, "path", e->path);
	if (rc == 0 && link != NULL && strlen(link) > 99)
		rc = pax_record(&pax, &pax_len, "linkpath", link);
	const uint64_t size = symlink || e->mode == GIT_FILEMODE_TREE ? 0 : ctx->data_len;
	char number[32];
	(void)snprintf(number, sizeof(number), "%" PRIu64, size);
	if (rc == 0 && size >= 077777777777ULL)
		rc = pax_record(&pax, &pax_len, "size", number);
	const size_t total = (pax != NULL ? BLOCK + padded(pax_len) : 0) + BLOCK;
	free(ctx->header);
	ctx->header = rc == 0 ? calloc(1, total) : NULL;
	if (ctx->header == NULL) {
		free(pax);
		free(link);
		if (rc == 0)
			aero_error_set("out of memory");
		ctx->header_len = ctx->header_off = 0;
		return -1;
	}
	char *at = ctx->header;
	if (pax != NULL) {
		ustar_header(at, "././@PaxHeader", 0644, pax_len, ctx->mtime, 'x', NULL);
		memcpy(at + BLOCK, pax, pax_len);
		at += BLOCK + padded(pax_len);
	}
	const unsigned mode = e->mode == GIT_FILEMODE_TREE              ? 0755
	                      : e->mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755
	                      : symlink                                 ? 0777
	                                                                : 0644;
	char type = '0';
	if (e->mode == GIT_FILEMODE_TREE)
		type = '5';
	else if (symlink)
		type = '2';
	ustar_header(at, e->path, mode, size, ctx->mtime, type, link);
	ctx->header_len = total;
	ctx->header_off = 0;
	if (symlink)
		ctx->data_len = 0; /* its target is in the header */
	free(pax);
	free(link);
	return 0;
}

ssize_t aero_context_read(struct aero_context *ctx, char *buf, size_t len)
{
	size_t done = 0;
	while (done < len && !ctx->finished) {
		if (ctx->header_off < ctx->header_len) {
			size_t n = ctx->header_len - ctx->header_off;
			n = n < len - done ? n : len - done;
			memcpy(buf + done, ctx->header + ctx->header_off, n);
			ctx->header_off += n;
			done += n;
		} else if (ctx->data_off < padded(ctx->data_len)) {
			size_t n = padded(ctx->data_len) - ctx->data_off;
			n = n < len - done ? n : len - done;
			const size_t real =
			        ctx->data_off < ctx->data_len ? ctx->data_len - ctx->data_off : 0;
			const size_t copy = real < n ? real : n;
			if (copy > 0)
				memcpy(buf + done, ctx->data + ctx->data_off, copy);
			memset(buf + done + copy, 0, n - copy);
			ctx->data_off += n;
			done += n;
		} else if (ctx->next < ctx->count) {
			if (load_entry(ctx) < 0)
				return -1;
		} else {
			/* The end: two zero blocks, sent as one more "header". */
			free(ctx->header);
			ctx->header = calloc(1, 2 * BLOCK);
			if (ctx->header == NULL) {
				aero_error_set("out of memory");
				ctx->header_len = ctx->header_off = 0;
				return -1;
			}
			ctx->header_len = 2 * BLOCK;
			ctx->header_off = 0;
			ctx->next = ctx->count + 1;
			git_blob_free(ctx->blob);
			ctx->blob = NULL;
			ctx->data_len = ctx->data_off = 0;
		}
		if (ctx->next > ctx->count && ctx->header_off == ctx->header_len)
			ctx->finished = true;
	}
	return (ssize_t)done;
}

void aero_context_free(struct aero_context *ctx)
{
	if (ctx == NULL)
		return;
	for (size_t i = 0; i < ctx->count; i++)
		free(ctx->entries[i].path);
	free(ctx->entries);
	for (size_t i = 0; i < ctx->subrepo_count; i++)
		git_repository_free(ctx->subrepos[i]);
	free(ctx->subrepos);
	free(ctx->header);
	git_blob_free(ctx->blob);
	free(ctx);
}
