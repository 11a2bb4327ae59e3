/* Placing an artifact's files, already in the cache, into a directory: by
 * reflink, else hardlink, else copy; read-only; every check made before the
 * first file is placed, so that a refusal leaves the directory as it was. */
#ifndef AERO_ARTIFACT_MATERIALISE_H
#define AERO_ARTIFACT_MATERIALISE_H

#include "manifest.h"
#include "progress.h"

#include <stdatomic.h>
#include <stdint.h>

struct aero_materialise {
	const char *cache;
	const struct aero_artifact_manifest *manifest;
	const char *dir;
	const char *what; /* "data:v3", for messages */
	unsigned jobs;
	struct aero_progress *progress;
	/* What was done, for the summary. */
	_Atomic uint64_t reflinked, linked, copied, present;
};

/* Places every file of m->manifest below m->dir, creating directories. A
 * file already there with the same content and mode is left; one with other
 * content, or anything in the way of a file or a directory, is refused
 * (AERO_ARTIFACT_BAD_INPUT) before anything is written. Symbolic links in
 * the directory are never followed. 0, or a status with aero_error. */
int aero_materialise(struct aero_materialise *m);

#endif
