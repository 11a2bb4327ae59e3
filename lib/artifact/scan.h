/* The files a put takes from its PATH arguments: a directory gives its
 * contents (paths relative to it), a file itself under its own name. Symbolic
 * links inside a directory are taken as the file they point to when that file
 * is inside the same directory; links that lead out of it, or to a
 * directory, are refused, as is anything but regular files. */
#ifndef AERO_ARTIFACT_SCAN_H
#define AERO_ARTIFACT_SCAN_H

#include <stddef.h>

struct aero_scan_file {
	char *rel;               /* the path in the artifact */
	char *path;              /* where to read it */
	unsigned long long size; /* as scanned, for the progress line */
};

struct aero_scan {
	struct aero_scan_file *files;
	size_t count, cap;
};

/* Collects the files of paths into *scan, sorted by rel; 0, or an
 * aero_artifact_status (BAD_INPUT for what cannot be put) with aero_error. */
int aero_scan_paths(const char *const *paths, size_t count, struct aero_scan *scan);

/* Frees what aero_scan_paths collected. */
void aero_scan_free(struct aero_scan *scan);

#endif
