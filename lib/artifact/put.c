/* aero_artifact_put: files -> digests (from the stat index when it knows them)
 * -> objects the store lacks (asked all at once) -> manifest -> the next
 * version record. */
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

/* Files of this size or more are sent as soon as they are hashed, while the
 * page cache still holds them, after a head of their own: one request is
 * nothing next to their bytes. Smaller files are all hashed first; then the
 * store is asked about their objects at once (aero_store_exists: a listing
 * page on S3 answers for up to a thousand), and only the missing ones are
 * sent, with no head each. */
#define DIRECT_MIN (1u << 20)

/* What a file's stat said when it was hashed: it must say the same when the
 * file is sent, and after. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
};

/* A small file, in the order of digests. */
struct small_file {
	const char *sha256;
	size_t file;
};

/* An object that small files need: the files small[first...first + count)
 * have its bytes; the first of them is the one sent. */
struct object {
	char key[96];
	size_t first, count;
};

/* An object the store lacks, and the file it is sent from. */
struct missing {
	size_t object, file;
};

struct put {
	const struct aero_artifact_put_request *req;
	char *url, *cache_dir;
	unsigned jobs;
	struct aero_store *store;
	struct aero_scan scan;
	struct aero_artifact_manifest manifest;
	struct aero_progress progress;
	struct file_id *ids; /* per file */
	/* The files under DIRECT_MIN by digest, their distinct objects, and
	 * which of those the store lacks. */
	struct small_file *small;
	size_t nsmall;
	struct object *objects;
	size_t nobjects;
	struct missing *missing;
	size_t nmissing;
	_Atomic uint64_t sent_objects, sent_bytes, kept_objects, hashed, indexed;
};

static struct file_id id_of(const struct stat *st)
{
	return (struct file_id){.dev = st->st_dev,
	                        .ino = st->st_ino,
	                        .size = st->st_size,
	                        .mtim = st->st_mtim,
	                        .ctim = st->st_ctim};
}

static bool same_file(const struct file_id *a, const struct stat *b)
{
	return a->dev == b->st_dev && a->ino == b->st_ino && a->size == b->st_size &&
	       a->mtim.tv_sec == b->st_mtim.tv_sec && a->mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->ctim.tv_sec == b->st_ctim.tv_sec && a->ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int changed(const char *path, const char *when)
{
	return aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT,
	                          "%s changed while it was %s; put it again when nothing writes to "
	                          "it",
	                          path, when);
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
	const struct file_id id = id_of(st);
	struct stat after;
	if (fstat(fd, &after) < 0 || !same_file(&id, &after) || size != (uint64_t)st->st_size)
		return changed(path, "read");
	/* A file changed in the clock tick of its last change could keep its
	 * ctime: only files last changed before the read began are recorded. */
	if (aero_statindex_settled(st, started) &&
	    aero_statindex_record(p->cache_dir, st, sha256) < 0)
		aero_log_debug("%s", aero_error_last());
	return 0;
}

/* Sends the object from fd, whose bytes must still be the ones hashed (id);
 * with ask, only when a head says the store lacks it. */
static int upload(struct put *p, struct aero_store *store, int fd, const char *path,
                  const struct file_id *id, const char *sha256, bool ask)
{
	char key[96];
	(void)snprintf(key, sizeof(key), "objects/sha256/%.2s/%s", sha256, sha256 + 2);
	int rc = AERO_STORE_NOT_FOUND;
	if (ask) {
		struct aero_store_stat there = {0};
		rc = aero_store_head(store, key, &there);
		if (rc == AERO_STORE_OK)
			rc = AERO_STORE_EXISTS;
	}
	if (rc == AERO_STORE_NOT_FOUND)
		rc = aero_store_put_fd(store, key, fd, (uint64_t)id->size, sha256,
		                       AERO_STORE_IF_ABSENT, NULL);
	if (rc == AERO_STORE_OK || rc == AERO_STORE_EXISTS) {
		struct stat after;
		if (rc == AERO_STORE_OK && (fstat(fd, &after) < 0 || !same_file(id, &after))) {
			/* The store now holds other bytes under this digest: take them back. */
			(void)aero_store_remove(store, key);
			return changed(path, "sent");
		}
		atomic_fetch_add(rc == AERO_STORE_OK ? &p->sent_objects : &p->kept_objects, 1);
		if (rc == AERO_STORE_OK)
			atomic_fetch_add(&p->sent_bytes, (uint64_t)id->size);
		return 0;
	}
	const int status = aero_artifact_status_of_store(rc);
	aero_error_set("cannot send %s to %s: %s", path, p->url, aero_error_last());
	return status == AERO_ARTIFACT_UNKNOWN ? AERO_ARTIFACT_STORE : status;
}

static void file_done(struct put *p, size_t i)
{
	aero_progress_advance(&p->progress, p->manifest.files[i].size);
	aero_progress_file_done(&p->progress);
}

/* Opens the file for reading: fd and *st, or -1 with its status in *rc. */
static int open_file(const struct aero_scan_file *sf, struct stat *st, int *rc)
{
	const int fd = open(sf->path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, st) == 0)
		return fd;
	const int err = errno;
	if (fd >= 0)
		(void)close(fd);
	*rc = aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT, "cannot read %s: %s", sf->path,
	                         strerror(err));
	return -1;
}

/* Hashes file i; sends it at once when it is big. */
static int hash_one(void *ctx, struct aero_store *store, size_t i)
{
	struct put *p = ctx;
	const struct aero_scan_file *sf = &p->scan.files[i];
	struct aero_artifact_file *f = &p->manifest.files[i];
	const struct timespec started = aero_statindex_now();
	struct stat st;
	int rc = 0;
	const int fd = open_file(sf, &st, &rc);
	if (fd < 0)
		return rc;
	rc = S_ISREG(st.st_mode) ? digest_of(p, fd, sf->path, &st, started, f->sha256)
	                         : aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT,
	                                              "cannot put %s: it is no longer a "
	                                              "regular file",
	                                              sf->path);
	p->ids[i] = id_of(&st);
	f->size = (uint64_t)st.st_size;
	f->exec = (st.st_mode & S_IXUSR) != 0;
	if (rc == 0 && f->size >= DIRECT_MIN) {
		rc = upload(p, store, fd, sf->path, &p->ids[i], f->sha256, true);
		if (rc == 0)
			file_done(p, i);
	}
	(void)close(fd);
	return rc;
}

static int compare_small(const void *a, const void *b)
{
	return strcmp(((const struct small_file *)a)->sha256,
	              ((const struct small_file *)b)->sha256);
}

/* The distinct objects of the small files. */
static int collect_objects(struct put *p)
{
	p->small = calloc(p->scan.count + 1, sizeof(*p->small));
	p->objects = calloc(p->scan.count + 1, sizeof(*p->objects));
	p->missing = calloc(p->scan.count + 1, sizeof(*p->missing));
	if (p->small == NULL || p->objects == NULL || p->missing == NULL)
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
	for (size_t i = 0; i < p->scan.count; i++)
		if (p->manifest.files[i].size < DIRECT_MIN)
			p->small[p->nsmall++] = (struct small_file){
			        .sha256 = p->manifest.files[i].sha256, .file = i};
	if (p->nsmall > 0)
		qsort(p->small, p->nsmall, sizeof(*p->small), compare_small);
	for (size_t j = 0; j < p->nsmall; j++) {
		if (j > 0 && strcmp(p->small[j].sha256, p->small[j - 1].sha256) == 0) {
			p->objects[p->nobjects - 1].count++;
			continue;
		}
		struct object *o = &p->objects[p->nobjects++];
		(void)snprintf(o->key, sizeof(o->key), "objects/sha256/%.2s/%s", p->small[j].sha256,
		               p->small[j].sha256 + 2);
		o->first = j;
		o->count = 1;
	}
	return 0;
}

static void object_done(struct put *p, const struct object *o)
{
	for (size_t j = o->first; j < o->first + o->count; j++)
		file_done(p, p->small[j].file);
}

static int compare_missing(const void *a, const void *b)
{
	const size_t x = ((const struct missing *)a)->file, y = ((const struct missing *)b)->file;
	return (x > y) - (x < y);
}

/* Asks the store which objects of the small files it has already. */
static int find_missing(struct put *p)
{
	const char **keys = calloc(p->nobjects + 1, sizeof(*keys));
	bool *found = calloc(p->nobjects + 1, sizeof(*found));
	if (keys == NULL || found == NULL) {
		free(keys);
		free(found);
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
	}
	for (size_t k = 0; k < p->nobjects; k++)
		keys[k] = p->objects[k].key;
	const int src = aero_store_exists(p->store, keys, p->nobjects, found);
	int rc = 0;
	if (src != AERO_STORE_OK) {
		rc = aero_artifact_status_of_store(src);
		aero_error_set("cannot look for objects in %s: %s", p->url, aero_error_last());
		if (rc == AERO_ARTIFACT_UNKNOWN)
			rc = AERO_ARTIFACT_STORE;
	}
	for (size_t k = 0; rc == 0 && k < p->nobjects; k++) {
		if (!found[k]) {
			p->missing[p->nmissing++] = (struct missing){
			        .object = k, .file = p->small[p->objects[k].first].file};
			continue;
		}
		atomic_fetch_add(&p->kept_objects, 1);
		object_done(p, &p->objects[k]);
	}
	free(keys);
	free(found);
	/* In the files' order, not the digests': parallel sends then go to many
	 * shards (directories of a file:// store, prefixes of S3) at once. */
	if (p->nmissing > 1)
		qsort(p->missing, p->nmissing, sizeof(*p->missing), compare_missing);
	return rc;
}

/* Sends missing object k from the first of its files. */
static int send_one(void *ctx, struct aero_store *store, size_t k)
{
	struct put *p = ctx;
	const struct object *o = &p->objects[p->missing[k].object];
	const size_t i = p->missing[k].file;
	const struct aero_scan_file *sf = &p->scan.files[i];
	struct stat st;
	int rc = 0;
	const int fd = open_file(sf, &st, &rc);
	if (fd < 0)
		return rc;
	if (!same_file(&p->ids[i], &st))
		rc = changed(sf->path, "put");
	if (rc == 0)
		rc = upload(p, store, fd, sf->path, &p->ids[i], p->manifest.files[i].sha256, false);
	(void)close(fd);
	if (rc == 0)
		object_done(p, o);
	return rc;
}

/* Hashes every file and sends the objects the store lacks, in parallel, and
 * fills the manifest. */
static int send_files(struct put *p)
{
	p->manifest.files = calloc(p->scan.count + 1, sizeof(*p->manifest.files));
	p->ids = calloc(p->scan.count + 1, sizeof(*p->ids));
	if (p->manifest.files == NULL || p->ids == NULL)
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
	uint64_t total = 0;
	for (size_t i = 0; i < p->scan.count; i++) {
		/* The scan owns the paths; the manifest borrows them (see put_free). */
		p->manifest.files[i].path = p->scan.files[i].rel;
		total += p->scan.files[i].size;
	}
	p->manifest.count = p->scan.count;
	aero_progress_init(&p->progress, p->req->name, total, p->scan.count, p->req->progress);
	struct aero_pool_task task = {.run = hash_one,
	                              .ctx = p,
	                              .count = p->scan.count,
	                              .store_url = p->url,
	                              .progress = &p->progress};
	int rc = aero_pool_run(&task, p->jobs);
	if (rc == 0)
		rc = collect_objects(p);
	if (rc == 0)
		rc = find_missing(p);
	if (rc == 0) {
		task.run = send_one;
		task.count = p->nmissing;
		rc = aero_pool_run(&task, p->jobs);
	}
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
	free(p.ids);
	free(p.small);
	free(p.objects);
	free(p.missing);
	aero_scan_free(&p.scan);
	aero_store_close(p.store);
	free(p.cache_dir);
	free(p.url);
	return rc;
}
