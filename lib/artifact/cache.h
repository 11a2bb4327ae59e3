/* The local artifact cache (runsdir.h: aero_cache_dir): objects by SHA-256
 * in CACHE/objects/sha256/<2 hex>/<62 hex>, read-only; downloads in CACHE/tmp/
 * until verified. See doc/artifacts.md. */
#ifndef AERO_ARTIFACT_CACHE_H
#define AERO_ARTIFACT_CACHE_H

#include "progress.h"
#include "store.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

struct aero_cache {
	const char *dir;
	bool verify; /* hash cached objects even when their stat record holds */
	struct aero_progress *progress;
	_Atomic uint64_t fetched_objects, fetched_bytes, cached_objects;
};

/* CACHE/objects/sha256/<2 hex>/<62 hex>, malloc'd; NULL when out of memory. */
char *aero_cache_object_path(const char *cache, const char sha256[65]);

/* Makes sure the cache holds the object sha256 of size bytes, verified:
 * taken from the cache when it is sound there, else downloaded from store
 * (resuming an interrupted download) and checked before it becomes an entry.
 * 0, or an aero_artifact_status with aero_error. */
int aero_cache_object_get(struct aero_cache *cache, struct aero_store *store, const char sha256[65],
                          uint64_t size);

/* Marks a cached object of size bytes as just used (its mtime, for gc) and
 * records its stat as verified; *ctime gets the ctime recorded ({0, 0} when
 * none is). 0, or -1 with aero_error. */
int aero_cache_object_used(const char *cache, const char sha256[65], uint64_t size,
                           struct timespec *ctime);

#endif
