/* Versioned, content-addressed artifacts: put a directory's files into a
 * blob store as the next version of a name, get a version back into a
 * directory through the local cache. The work of `aero-init artifact` and
 * `aero-launch artifact`, callable from any process (a forked worker
 * included): no argument parsing, no output but stderr diagnostics. */
#ifndef AERO_ARTIFACT_H
#define AERO_ARTIFACT_H

#include "artifact_status.h"
#include "ref.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aero_artifact_get_request {
	const char *store_url; /* NULL: aero_store_default_url() */
	const char *ref;       /* "data", "data:v3", "data@sha256:..." */
	const char *dir;       /* where the files go */
	bool verify;           /* hash every cached object, trusting no stat record */
	bool progress;         /* a progress line when stderr is a terminal */
};

struct aero_artifact_put_request {
	const char *store_url; /* NULL: aero_store_default_url() */
	const char *name;
	const char *const *paths; /* directories (their contents) and files */
	size_t path_count;
	bool progress;
};

struct aero_artifact_result {
	bool put; /* else a get */
	char name[AERO_ARTIFACT_NAME_MAX + 1];
	uint64_t version;
	char digest[65]; /* the manifest's SHA-256, hex */
	uint64_t files, size;
	bool unchanged; /* a put whose content the newest version already had */
	/* What moved, for the summary: objects and bytes sent or fetched, objects
	 * already in the store or the cache, files hashed and files whose digest
	 * the stat index knew. */
	uint64_t moved_objects, moved_bytes, kept_objects, hashed_files, indexed_files;
};

/* Gets req->ref into req->dir. 0, or an aero_artifact_status with aero_error;
 * on failure nothing is left half-written in the directory or the cache. */
int aero_artifact_get(const struct aero_artifact_get_request *req,
                      struct aero_artifact_result *result);

/* Puts req->paths as the next version of req->name (or finds the newest
 * version already holds them: result->unchanged). */
int aero_artifact_put(const struct aero_artifact_put_request *req,
                      struct aero_artifact_result *result);

/* The one-line JSON of result: {"op","name","version","digest","files",
 * "size","dir","unchanged"}; dir may be NULL. malloc'd; NULL when out of memory. */
char *aero_artifact_result_json(const struct aero_artifact_result *result, const char *dir);

/* Records line in the journal of the run in $AERO_RUN_DIR (journal.h), when
 * AERO_RUN_DIR is set. 0, or -1 with aero_error. */
int aero_artifact_journal_append(const char *line);

/* Writes the one-line summary of result to stderr (aero_log_notice). */
void aero_artifact_result_say(const struct aero_artifact_result *result, const char *dir);

#endif
