/* aero_artifact_put: files -> digests (from the stat index when it knows them)
 * -> objects the store lacks -> manifest -> the next version record. */
#include "artifact.h"

#include "cache.h"
#include "digest.h"
#include "error.h"
#include "log.h"
#include "manifest.h"
#include "pool.h"
#include "runsdir.h"
#include "scan.h"
#include "statindex.h"
#include "versions.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct put {
	const struct aero_artifact_put_request *req;
	char *url, *cache_dir;
	unsigned jobs;
	struct aero_store *store;
	struct aero_scan scan;
	struct aero_artifact_manifest manifest;
	struct aero_progress progress;
	_Atomic uint64_t sent_objects, sent_bytes, kept_objects, hashed, indexed;
};

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The file's digest: from the stat index, else by hashing it. */
static int digest_of(struct put *p, int fd, const char *path, const struct stat *st,
                     struct timespec started, char sha256[65])
{
	if (aero_statindex_lookup(p->cache_dir, st, sha256)) {
		atomic_fetch_add(&p->indexed, 1);
		return 0;
	}
	uint64_t size = 0;
	if (aero_digest_fd(fd, path, sha256, &size) < 0)
		return AERO_ARTIFACT_INTERNAL;
	atomic_fetch_add(&p->hashed, 1);
	struct stat after;
	if (fstat(fd, &after) < 0 || !same_stat(st, &after) || size != (uint64_t)st->st_size)
		return aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT,
		                          "%s changed while it was read; put it again when nothing "
		                          "writes to it",
		                          path);
	/* A file changed in the clock tick of its last change could keep its
	 * ctime: only files last changed before the read began are recorded. */
	if (aero_statindex_settled(st, started) &&
	    aero_statindex_record(p->cache_dir, st, sha256) < 0)
		aero_log_debug("%s", aero_error_last());
	return 0;
}

/* Sends the object unless the store has it; a store without it gets the
 * bytes of fd, which must still be the ones hashed. */
static int upload(struct put *p, struct aero_store *store, int fd, const char *path,
                  const struct stat *st, const char *sha256)
{
	char key[96];
	(void)snprintf(key, sizeof(key), "objects/sha256/%.2s/%s", sha256, sha256 + 2);
	struct aero_store_stat there = {0};
	int rc = aero_store_head(store, key, &there);
	if (rc == AERO_STORE_OK) {
		atomic_fetch_add(&p->kept_objects, 1);
		return 0;
	}
	if (rc == AERO_STORE_NOT_FOUND)
		rc = aero_store_put_fd(store, key, fd, (uint64_t)st->st_size, sha256,
		                       AERO_STORE_IF_ABSENT, NULL);
	if (rc == AERO_STORE_EXISTS) {
		atomic_fetch_add(&p->kept_objects, 1);
		return 0;
	}
	if (rc != AERO_STORE_OK) {
		const int status = aero_artifact_status_of_store(rc);
		aero_error_set("cannot send %s to %s: %s", path, p->url, aero_error_last());
		return status == AERO_ARTIFACT_UNKNOWN ? AERO_ARTIFACT_STORE : status;
	}
	struct stat after;
	if (fstat(fd, &after) < 0 || !same_stat(st, &after)) {
		/* The store now holds other bytes under this digest: take them back. */
		(void)aero_store_remove(store, key);
		return aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT,
		                          "%s changed while it was sent; put it again when nothing "
		                          "writes to it",
		                          path);
	}
	atomic_fetch_add(&p->sent_objects, 1);
	atomic_fetch_add(&p->sent_bytes, (uint64_t)st->st_size);
	return 0;
}

static int put_one(void *ctx, struct aero_store *store, size_t i)
{
	struct put *p = ctx;
	const struct aero_scan_file *sf = &p->scan.files[i];
	struct aero_artifact_file *f = &p->manifest.files[i];
	const int fd = open(sf->path, O_RDONLY | O_CLOEXEC);
	const struct timespec started = aero_statindex_now();
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		const int err = errno;
		if (fd >= 0)
			(void)close(fd);
		return aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT, "cannot read %s: %s", sf->path,
		                          strerror(err));
	}
	int rc = S_ISREG(st.st_mode)
	                 ? digest_of(p, fd, sf->path, &st, started, f->sha256)
	                 : (aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT,
	                                       "cannot put %s: it is no longer a regular "
	                                       "file",
	                                       sf->path));
	if (rc == 0)
		rc = upload(p, store, fd, sf->path, &st, f->sha256);
	(void)close(fd);
	if (rc == 0) {
		f->size = (uint64_t)st.st_size;
		f->exec = (st.st_mode & S_IXUSR) != 0;
		aero_progress_advance(&p->progress, f->size);
		aero_progress_file_done(&p->progress);
	}
	return rc;
}

/* Hashes and sends every file, in parallel, and fills the manifest. */
static int send_files(struct put *p)
{
	p->manifest.files = calloc(p->scan.count + 1, sizeof(*p->manifest.files));
	if (p->manifest.files == NULL)
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
	uint64_t total = 0;
	for (size_t i = 0; i < p->scan.count; i++) {
		/* The scan owns the paths; the manifest borrows them (see put_free). */
		p->manifest.files[i].path = p->scan.files[i].rel;
		total += p->scan.files[i].size;
	}
	p->manifest.count = p->scan.count;
	aero_progress_init(&p->progress, p->req->name, total, p->scan.count, p->req->progress);
	struct aero_pool_task task = {.run = put_one,
	                              .ctx = p,
	                              .count = p->scan.count,
	                              .store_url = p->url,
	                              .progress = &p->progress};
	const int rc = aero_pool_run(&task, p->jobs);
	aero_progress_finish(&p->progress);
	return rc;
}

/* Writes the manifest and publishes the version. */
static int publish(struct put *p, struct aero_artifact_result *r)
{
	if (aero_artifact_manifest_check_tree(&p->manifest) < 0)
		return aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT, "cannot put %s: %s",
		                          p->req->name, aero_error_last());
	struct aero_artifact_version v = {.version = 0};
	char *text = aero_artifact_manifest_text(&p->manifest, v.manifest);
	if (text == NULL)
		return AERO_ARTIFACT_INTERNAL;
	char key[96];
	(void)snprintf(key, sizeof(key), "manifests/sha256/%s.json", v.manifest);
	int rc = aero_store_put_bytes(p->store, key, text, strlen(text), AERO_STORE_IF_ABSENT);
	free(text);
	if (rc != AERO_STORE_OK && rc != AERO_STORE_EXISTS) {
		const int status = aero_artifact_status_of_store(rc);
		aero_error_set("cannot write the manifest to %s: %s", p->url, aero_error_last());
		return status == AERO_ARTIFACT_UNKNOWN ? AERO_ARTIFACT_STORE : status;
	}
	memcpy(v.name, p->req->name, strlen(p->req->name) + 1);
	v.files = p->manifest.count;
	v.size = aero_artifact_manifest_size(&p->manifest);
	cJSON *lineage = aero_artifact_lineage_new();
	if (lineage == NULL)
		return AERO_ARTIFACT_INTERNAL;
	rc = aero_artifact_publish(p->store, &v, lineage, &r->unchanged);
	if (rc == 0) {
		memcpy(r->name, v.name, sizeof(r->name));
		r->version = v.version;
		memcpy(r->digest, v.manifest, sizeof(r->digest));
		r->files = v.files;
		r->size = v.size;
	}
	aero_artifact_version_free(&v);
	return rc;
}

int aero_artifact_put(const struct aero_artifact_put_request *req, struct aero_artifact_result *r)
{
	memset(r, 0, sizeof(*r));
	r->put = true;
	struct put p = {.req = req};
	atomic_init(&p.sent_objects, 0);
	atomic_init(&p.sent_bytes, 0);
	atomic_init(&p.kept_objects, 0);
	atomic_init(&p.hashed, 0);
	atomic_init(&p.indexed, 0);
	int rc = aero_artifact_name_check(req->name) < 0 ? AERO_ARTIFACT_BAD_INPUT : 0;
	if (rc == 0 && req->path_count == 0)
		rc = aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT,
		                        "nothing to put: name a directory or files");
	if (rc == 0 && aero_pool_jobs(&p.jobs) < 0)
		rc = AERO_ARTIFACT_BAD_INPUT;
	if (rc == 0 && (p.cache_dir = aero_cache_dir()) == NULL)
		rc = aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
	if (rc == 0)
		rc = aero_scan_paths(req->paths, req->path_count, &p.scan);
	if (rc == 0)
		rc = aero_artifact_store_open(req->store_url, &p.url, &p.store);
	if (rc == 0)
		rc = send_files(&p);
	if (rc == 0)
		rc = publish(&p, r);
	r->moved_objects = atomic_load(&p.sent_objects);
	r->moved_bytes = atomic_load(&p.sent_bytes);
	r->kept_objects = atomic_load(&p.kept_objects);
	r->hashed_files = atomic_load(&p.hashed);
	r->indexed_files = atomic_load(&p.indexed);
	free(p.manifest.files); /* its paths belong to the scan */
	aero_scan_free(&p.scan);
	aero_store_close(p.store);
	free(p.cache_dir);
	free(p.url);
	return rc;
}
