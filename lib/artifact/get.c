/* aero_artifact_get: reference -> version record -> manifest (its digest
 * checked, its paths checked) -> objects into the cache -> files into the
 * directory -> the cache's stat records. */
#include "artifact.h"

#include "cache.h"
#include "error.h"
#include "log.h"
#include "manifest.h"
#include "materialise.h"
#include "pool.h"
#include "runsdir.h"
#include "statindex.h"
#include "versions.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct get {
	const struct aero_artifact_get_request *req;
	char *url, *cache_dir;
	unsigned jobs;
	struct aero_store *store;
	struct aero_artifact_ref ref;
	struct aero_artifact_version version;
	struct aero_artifact_manifest manifest;
	size_t *objects; /* indices of files with distinct digests */
	size_t object_count;
	struct aero_cache cache;
	pthread_mutex_t lock;
	struct timespec newest_ctime; /* of the cached objects used, under lock */
};

/* The reference, with AERO_ARTIFACT_OVERRIDES applied (and said). */
static int parse_ref(struct get *g)
{
	if (aero_artifact_ref_parse(g->req->ref, &g->ref) < 0)
		return AERO_ARTIFACT_BAD_INPUT;
	const char *overrides = getenv("AERO_ARTIFACT_OVERRIDES");
	if (overrides == NULL || overrides[0] == '\0')
		return 0;
	char asked[AERO_ARTIFACT_REF_TEXT_MAX], given[AERO_ARTIFACT_REF_TEXT_MAX];
	aero_artifact_ref_format(&g->ref, asked);
	bool applied = false;
	if (aero_artifact_overrides_apply(overrides, &g->ref, &applied) < 0)
		return AERO_ARTIFACT_BAD_INPUT;
	aero_artifact_ref_format(&g->ref, given);
	if (applied)
		aero_log_warn("AERO_ARTIFACT_OVERRIDES: getting %s instead of %s", given, asked);
	return 0;
}

static int by_digest(const void *a, const void *b, void *ctx)
{
	const struct aero_artifact_file *files = ctx;
	return strcmp(files[*(const size_t *)a].sha256, files[*(const size_t *)b].sha256);
}

/* The files with distinct contents: each object is fetched once. */
static int distinct_objects(struct get *g)
{
	const size_t n = g->manifest.count;
	g->objects = calloc(n + 1, sizeof(*g->objects));
	if (g->objects == NULL)
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++)
		g->objects[i] = i;
	qsort_r(g->objects, n, sizeof(*g->objects), by_digest, g->manifest.files);
	for (size_t i = 0; i < n; i++)
		if (g->object_count == 0 ||
		    strcmp(g->manifest.files[g->objects[g->object_count - 1]].sha256,
		           g->manifest.files[g->objects[i]].sha256) != 0)
			g->objects[g->object_count++] = g->objects[i];
	return 0;
}

static int fetch_one(void *ctx, struct aero_store *store, size_t i)
{
	struct get *g = ctx;
	const struct aero_artifact_file *f = &g->manifest.files[g->objects[i]];
	return aero_cache_object_get(&g->cache, store, f->sha256, f->size);
}

static int mark_used(void *ctx, struct aero_store *store, size_t i)
{
	(void)store;
	struct get *g = ctx;
	struct timespec ctime = {0, 0};
	const struct aero_artifact_file *f = &g->manifest.files[g->objects[i]];
	if (aero_cache_object_used(g->cache_dir, f->sha256, f->size, &ctime) < 0) {
		aero_log_debug("%s", aero_error_last()); /* the next get hashes it again */
		return 0;
	}
	(void)pthread_mutex_lock(&g->lock);
	if (ctime.tv_sec > g->newest_ctime.tv_sec ||
	    (ctime.tv_sec == g->newest_ctime.tv_sec && ctime.tv_nsec > g->newest_ctime.tv_nsec))
		g->newest_ctime = ctime;
	(void)pthread_mutex_unlock(&g->lock);
	return 0;
}

/* Everything after the version is known: cache, directory, records. */
static int transfer(struct get *g, struct aero_artifact_result *r)
{
	char what[AERO_ARTIFACT_REF_TEXT_MAX];
	const struct aero_artifact_ref exact = {.kind = AERO_REF_VERSION,
	                                        .version = g->version.version};
	struct aero_artifact_ref shown = exact;
	memcpy(shown.name, g->ref.name, sizeof(shown.name));
	aero_artifact_ref_format(&shown, what);
	struct aero_progress progress;
	uint64_t total = 0;
	for (size_t i = 0; i < g->object_count; i++)
		total += g->manifest.files[g->objects[i]].size;
	aero_progress_init(&progress, what, total, g->object_count, g->req->progress);
	g->cache.dir = g->cache_dir;
	g->cache.verify = g->req->verify;
	g->cache.progress = &progress;
	struct aero_pool_task task = {.run = fetch_one,
	                              .ctx = g,
	                              .count = g->object_count,
	                              .store_url = g->url,
	                              .progress = &progress};
	int rc = aero_pool_run(&task, g->jobs);
	aero_progress_finish(&progress);
	struct aero_materialise m = {.cache = g->cache_dir,
	                             .manifest = &g->manifest,
	                             .dir = g->req->dir,
	                             .what = what,
	                             .jobs = g->jobs};
	if (rc == 0)
		rc = aero_materialise(&m);
	struct aero_pool_task used = {.run = mark_used, .ctx = g, .count = g->object_count};
	if (rc == 0)
		rc = aero_pool_run(&used, g->jobs);
	/* A change made to a cached object after this get must show in its ctime. */
	aero_statindex_wait_past(g->newest_ctime);
	r->moved_objects = atomic_load(&g->cache.fetched_objects);
	r->moved_bytes = atomic_load(&g->cache.fetched_bytes);
	r->kept_objects = atomic_load(&g->cache.cached_objects);
	aero_log_debug("%s: %llu reflinked, %llu hardlinked, %llu copied, %llu already there",
	               g->req->dir, (unsigned long long)atomic_load(&m.reflinked),
	               (unsigned long long)atomic_load(&m.linked),
	               (unsigned long long)atomic_load(&m.copied),
	               (unsigned long long)atomic_load(&m.present));
	return rc;
}

int aero_artifact_get(const struct aero_artifact_get_request *req, struct aero_artifact_result *r)
{
	memset(r, 0, sizeof(*r));
	struct get g = {.req = req};
	atomic_init(&g.cache.fetched_objects, 0);
	atomic_init(&g.cache.fetched_bytes, 0);
	atomic_init(&g.cache.cached_objects, 0);
	int rc = parse_ref(&g);
	if (rc == 0 && aero_pool_jobs(&g.jobs) < 0)
		rc = AERO_ARTIFACT_BAD_INPUT;
	if (rc == 0)
		rc = aero_artifact_store_open(req->store_url, &g.url, &g.store);
	if (rc == 0)
		rc = aero_artifact_resolve(g.store, &g.ref, &g.version);
	if (rc == 0)
		rc = aero_artifact_manifest_fetch(g.store, &g.version, &g.manifest);
	if (rc == 0 && (g.cache_dir = aero_cache_dir()) == NULL)
		rc = aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
	if (rc == 0)
		rc = distinct_objects(&g);
	if (rc == 0 && pthread_mutex_init(&g.lock, NULL) != 0)
		rc = aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "cannot make a mutex");
	else if (rc == 0) {
		rc = transfer(&g, r);
		(void)pthread_mutex_destroy(&g.lock);
	}
	if (rc == 0) {
		memcpy(r->name, g.ref.name, sizeof(r->name));
		r->version = g.version.version;
		memcpy(r->digest, g.version.manifest, sizeof(r->digest));
		r->files = g.manifest.count;
		r->size = aero_artifact_manifest_size(&g.manifest);
	}
	aero_artifact_manifest_free(&g.manifest);
	aero_artifact_version_free(&g.version);
	aero_store_close(g.store);
	free(g.objects);
	free(g.cache_dir);
	free(g.url);
	return rc;
}
