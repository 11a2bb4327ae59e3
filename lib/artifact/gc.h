/* Keeping the artifact cache within a size: the least recently used objects
 * (oldest mtime: every get touches the objects it uses) go first. */
#ifndef AERO_ARTIFACT_GC_H
#define AERO_ARTIFACT_GC_H

#include <stdint.h>

struct aero_cache_gc_report {
	uint64_t objects, bytes;                 /* in the cache before */
	uint64_t removed_objects, removed_bytes; /* evicted */
	uint64_t linked_objects, linked_bytes;   /* kept: linked from materialised trees */
	uint64_t partials_removed;               /* abandoned partial downloads */
};

/* Parses a size: a whole number of bytes, or with K, M, G or T (powers of
 * 1024; "KiB", "MB" and the like too). 0, or -1 with aero_error. */
int aero_size_parse(const char *text, uint64_t *out);

/* Evicts least recently used objects until the cache's objects take at most
 * max_size bytes. Objects with other links (hardlinked into a materialised
 * tree) are kept and counted: removing them would free nothing. Partial
 * downloads untouched for a day are removed. 0, or -1 with aero_error. */
int aero_cache_gc(const char *cache, uint64_t max_size, struct aero_cache_gc_report *report);

#endif
