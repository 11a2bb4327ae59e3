/* An artifact version's content listing: which file has which bytes. Its
 * canonical JSON is {"files":[{"mode":"0644","path":"a/b.csv","sha256":"..",
 * "size":N},...],"schema":"aeromancy.artifact/1"}, paths sorted by bytes; the
 * SHA-256 of that text is the version's identity. See doc/artifacts.md. */
#ifndef AERO_ARTIFACT_MANIFEST_H
#define AERO_ARTIFACT_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AERO_ARTIFACT_SCHEMA "aeromancy.artifact/1"
/* The longest path and path component a manifest may hold. */
#define AERO_ARTIFACT_PATH_MAX 4095
#define AERO_ARTIFACT_COMPONENT_MAX 255

struct aero_artifact_file {
	char *path; /* relative, '/'-separated, checked by aero_artifact_path_check */
	char sha256[65];
	uint64_t size;
	bool exec; /* mode 0755; else 0644 */
};

struct aero_artifact_manifest {
	struct aero_artifact_file *files;
	size_t count;
};

/* 0 when path is a safe relative path: UTF-8, not empty, no leading '/', no
 * empty, "." or ".." components; else -1 with aero_error naming it. */
int aero_artifact_path_check(const char *path);

/* Sorts the files by the bytes of their paths. */
void aero_artifact_manifest_sort(struct aero_artifact_manifest *m);

/* 0 when the (sorted) paths are strictly ascending and no path is also the
 * directory of another; else -1 with aero_error naming the two paths. */
int aero_artifact_manifest_check_tree(const struct aero_artifact_manifest *m);

/* Parses and checks a manifest read from a store: schema, every path, digest,
 * size and mode, order and tree. -1 with aero_error naming what is wrong. */
int aero_artifact_manifest_parse(const char *text, size_t len, struct aero_artifact_manifest *m);

/* The canonical JSON of a sorted, checked manifest (malloc'd), and its
 * SHA-256 as 64 hex digits in digest; NULL with aero_error. */
char *aero_artifact_manifest_text(const struct aero_artifact_manifest *m, char digest[65]);

/* The sum of the files' sizes. */
uint64_t aero_artifact_manifest_size(const struct aero_artifact_manifest *m);

/* Frees the files and their paths (m itself is the caller's). */
void aero_artifact_manifest_free(struct aero_artifact_manifest *m);

#endif
