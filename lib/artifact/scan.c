/* Collecting a put's files. */
#include "scan.h"

#include "artifact_status.h"
#include "error.h"
#include "manifest.h"
#include "runsdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int add(struct aero_scan *scan, const char *rel, const char *path, const struct stat *st)
{
	if (aero_artifact_path_check(rel) < 0)
		return aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT, "cannot put %s: %s; rename it",
		                          path, aero_error_last());
	if (scan->count == scan->cap) {
		const size_t cap = scan->cap == 0 ? 64 : scan->cap * 2;
		struct aero_scan_file *grown = realloc(scan->files, cap * sizeof(*grown));
		if (grown == NULL)
			return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
		scan->files = grown;
		scan->cap = cap;
	}
	struct aero_scan_file *f = &scan->files[scan->count];
	f->rel = strdup(rel);
	f->path = strdup(path);
	if (f->rel == NULL || f->path == NULL) {
		free(f->rel);
		free(f->path);
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
	}
	f->size = (unsigned long long)st->st_size;
	scan->count++;
	return 0;
}

static int refuse(const char *path, const char *why)
{
	aero_error_set("cannot put %s: %s", path, why);
	return AERO_ARTIFACT_BAD_INPUT;
}

/* A symbolic link inside the tree at root (its real path): added as the file
 * it points to when that is a regular file inside the tree. */
static int add_link(struct aero_scan *scan, const char *root, const char *rel, const char *path)
{
	char *target = realpath(path, NULL);
	if (target == NULL)
		return refuse(path, "it is a symbolic link that leads nowhere; remove it");
	const size_t len = strlen(root);
	const bool inside =
	        strncmp(target, root, len) == 0 && (target[len] == '/' || strcmp(root, "/") == 0);
	struct stat st;
	int rc;
	if (!inside)
		rc = refuse(path, "it is a symbolic link that leads out of the directory put; "
		                  "copy the file it points to in, or remove the link");
	else if (stat(target, &st) < 0 || !S_ISREG(st.st_mode))
		rc = refuse(path, "it is a symbolic link to something other than a regular file; "
		                  "artifacts hold regular files only");
	else
		rc = add(scan, rel, path, &st);
	free(target);
	return rc;
}

static int walk(struct aero_scan *scan, const char *root, const char *dir, const char *rel)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT,
		                          "cannot read the directory %s: %s", dir, strerror(errno));
	int rc = 0;
	for (const struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *path = aero_path_join(dir, e->d_name);
		char *sub = rel[0] != '\0' ? aero_path_join(rel, e->d_name) : strdup(e->d_name);
		struct stat st;
		if (path == NULL || sub == NULL)
			rc = aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
		else if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			rc = aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT, "cannot read %s: %s", path,
			                        strerror(errno));
		else if (S_ISDIR(st.st_mode))
			rc = walk(scan, root, path, sub);
		else if (S_ISREG(st.st_mode))
			rc = add(scan, sub, path, &st);
		else if (S_ISLNK(st.st_mode))
			rc = add_link(scan, root, sub, path);
		else
			rc = refuse(path,
			            "it is not a regular file (a socket, a pipe or a device); "
			            "artifacts hold regular files only");
		free(path);
		free(sub);
	}
	(void)closedir(d);
	return rc;
}

/* One PATH argument: a directory's contents, or a file. */
static int scan_path(struct aero_scan *scan, const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT, "cannot put %s: %s", path,
		                          strerror(errno));
	if (S_ISREG(st.st_mode)) {
		const char *slash = strrchr(path, '/');
		return add(scan, slash != NULL ? slash + 1 : path, path, &st);
	}
	if (!S_ISDIR(st.st_mode))
		return refuse(path, "it is neither a regular file nor a directory");
	char *root = realpath(path, NULL);
	if (root == NULL)
		return aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT, "cannot put %s: %s", path,
		                          strerror(errno));
	const int rc = walk(scan, root, path, "");
	free(root);
	return rc;
}

static int by_rel(const void *a, const void *b)
{
	return strcmp(((const struct aero_scan_file *)a)->rel,
	              ((const struct aero_scan_file *)b)->rel);
}

int aero_scan_paths(const char *const *paths, size_t count, struct aero_scan *scan)
{
	memset(scan, 0, sizeof(*scan));
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < count; i++)
		rc = scan_path(scan, paths[i]);
	if (rc == 0 && scan->count > 1)
		qsort(scan->files, scan->count, sizeof(scan->files[0]), by_rel);
	for (size_t i = 1; rc == 0 && i < scan->count; i++)
		if (strcmp(scan->files[i - 1].rel, scan->files[i].rel) == 0)
			rc = aero_artifact_fail(
			        AERO_ARTIFACT_BAD_INPUT,
			        "cannot put both %s and %s: both would be '%s' in the "
			        "artifact",
			        scan->files[i - 1].path, scan->files[i].path, scan->files[i].rel);
	if (rc != 0)
		aero_scan_free(scan);
	return rc;
}

void aero_scan_free(struct aero_scan *scan)
{
	for (size_t i = 0; i < scan->count; i++) {
		free(scan->files[i].rel);
		free(scan->files[i].path);
	}
	free(scan->files);
	memset(scan, 0, sizeof(*scan));
}
