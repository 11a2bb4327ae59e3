/* The names and versions in a store: listing them, resolving a reference to
 * a version record, and publishing a new version without races (write-once
 * puts of names/<name>/v<N+1>.json, retried with a fresh listing). */
#ifndef AERO_ARTIFACT_VERSIONS_H
#define AERO_ARTIFACT_VERSIONS_H

#include "manifest.h"
#include "record.h"
#include "ref.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest record or manifest read from a store. */
#define AERO_ARTIFACT_RECORD_MAX ((size_t)1 << 20)
#define AERO_ARTIFACT_MANIFEST_MAX ((size_t)1 << 30)

/* Opens the store at url, or when url is NULL the default one (AERO_STORE,
 * ...); *url_out gets the URL, malloc'd. 0, or a status with aero_error. */
int aero_artifact_store_open(const char *url, char **url_out, struct aero_store **store);

/* The versions of name in the store, ascending, malloc'd (NULL when none).
 * 0, or an aero_artifact_status with aero_error. */
int aero_artifact_versions_list(struct aero_store *store, const char *name, uint64_t **versions,
                                size_t *count);

/* Called by aero_artifact_names_list for each name with its highest version;
 * a positive return stops the listing and is returned. */
typedef int (*aero_artifact_name_fn)(void *ctx, const char *name, uint64_t latest);

/* Every name in the store, in byte order, with its highest version. */
int aero_artifact_names_list(struct aero_store *store, aero_artifact_name_fn fn, void *ctx);

/* Reads version of name into *v: UNKNOWN when there is no such version. */
int aero_artifact_version_fetch(struct aero_store *store, const char *name, uint64_t version,
                                struct aero_artifact_version *v);

/* Resolves ref to its version record: UNKNOWN when the name, version or
 * digest is not in the store. */
int aero_artifact_resolve(struct aero_store *store, const struct aero_artifact_ref *ref,
                          struct aero_artifact_version *v);

/* Reads v's manifest, checks its digest (DIGEST) and every path in it
 * (BAD_INPUT). */
int aero_artifact_manifest_fetch(struct aero_store *store, const struct aero_artifact_version *v,
                                 struct aero_artifact_manifest *m);

/* Makes v (name, manifest, files and size filled in) the next version of its
 * name, with lineage (taken over); when the newest version already has the
 * same manifest, *v becomes that version and *unchanged is true. */
int aero_artifact_publish(struct aero_store *store, struct aero_artifact_version *v, cJSON *lineage,
                          bool *unchanged);

#endif
