/* Version records, names/<name>/v<N>.json in a store: which manifest a
 * version of a name is, its totals, when it was made and from what (lineage). */
#ifndef AERO_ARTIFACT_RECORD_H
#define AERO_ARTIFACT_RECORD_H

#include "ref.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

struct aero_artifact_version {
	char name[AERO_ARTIFACT_NAME_MAX + 1];
	uint64_t version;
	char manifest[65]; /* the manifest's SHA-256, hex */
	uint64_t files, size;
	cJSON *json; /* the whole record as read or written */
};

/* The lineage of a version put now: the run (AERO_RUN_ID), its commit
 * (AERO_GIT_COMMIT) and image (AERO_IMAGE_ID), null when unset, and as inputs
 * every get recorded in $AERO_RUN_DIR/artifacts.jsonl. NULL with aero_error. */
cJSON *aero_artifact_lineage_new(void);

/* A new record (v->json is made from the other fields, created now and
 * lineage, which it takes over); its canonical text, malloc'd, or NULL. */
char *aero_artifact_version_make(struct aero_artifact_version *v, cJSON *lineage);

/* Parses a record read from names/<name>/v<version>.json and checks that it
 * says so; -1 with aero_error naming what is wrong. */
int aero_artifact_version_parse(const char *text, size_t len, const char *name, uint64_t version,
                                struct aero_artifact_version *v);

/* Frees v->json. */
void aero_artifact_version_free(struct aero_artifact_version *v);

#endif
