/* Names and versions in a store. */
#include "versions.h"

#include "artifact_status.h"
#include "error.h"
#include "sha256.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* How often a publish retries after another writer took its version number. */
#define PUBLISH_ATTEMPTS 1000

/* What a listing callback returns to stop it for want of memory: positive,
 * unlike every store status. */
#define LISTING_NO_MEMORY 1

/* "names/<name>/v<N>.json" fits: a name is at most 128 bytes. */
#define KEY_MAX (AERO_ARTIFACT_NAME_MAX + 48)

static void version_key(const char *name, uint64_t version, char key[KEY_MAX])
{
	(void)snprintf(key, KEY_MAX, "names/%s/v%" PRIu64 ".json", name, version);
}

/* The N of "v<N>.json", or 0 when text is not that. */
static uint64_t parse_version_file(const char *text)
{
	if (text[0] != 'v' || text[1] < '1' || text[1] > '9')
		return 0;
	uint64_t v = 0;
	const char *p = text + 1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > AERO_ARTIFACT_VERSION_MAX)
			return 0;
	}
	return strcmp(p, ".json") == 0 ? v : 0;
}

struct version_list {
	size_t prefix_len;
	uint64_t *versions;
	size_t count, cap;
};

static int collect_version(void *ctx, const char *key, uint64_t size)
{
	(void)size;
	struct version_list *l = ctx;
	const uint64_t v = parse_version_file(key + l->prefix_len);
	if (v == 0)
		return 0;
	if (l->count == l->cap) {
		const size_t cap = l->cap == 0 ? 16 : l->cap * 2;
		uint64_t *grown = realloc(l->versions, cap * sizeof(*grown));
		if (grown == NULL)
			return aero_artifact_fail(LISTING_NO_MEMORY,
			                          "out of memory listing versions");
		l->versions = grown;
		l->cap = cap;
	}
	l->versions[l->count++] = v;
	return 0;
}

static int ascending(const void *a, const void *b)
{
	const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The artifact status of a failed store call, with aero_error naming the store. */
static int store_failure(struct aero_store *store, int rc)
{
	const int status = aero_artifact_status_of_store(rc);
	if (status == AERO_ARTIFACT_DENIED)
		aero_error_set("%s; check the store's credentials (AWS_ACCESS_KEY_ID, ...) or the "
		               "permissions of %s",
		               aero_error_last(), aero_store_url(store));
	return status == AERO_ARTIFACT_UNKNOWN ? AERO_ARTIFACT_STORE : status;
}

int aero_artifact_store_open(const char *url, char **url_out, struct aero_store **store)
{
	*store = NULL;
	*url_out = url != NULL ? strdup(url) : aero_store_default_url();
	if (*url_out == NULL)
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
	const int rc = aero_store_open(*url_out, store);
	if (rc == AERO_STORE_OK)
		return 0;
	const int status = aero_artifact_status_of_store(rc);
	aero_error_set("cannot open the store %s: %s", *url_out, aero_error_last());
	return status == AERO_ARTIFACT_UNKNOWN ? AERO_ARTIFACT_STORE : status;
}

int aero_artifact_versions_list(struct aero_store *store, const char *name, uint64_t **versions,
                                size_t *count)
{
	char prefix[KEY_MAX];
	(void)snprintf(prefix, sizeof(prefix), "names/%s/", name);
	struct version_list l = {.prefix_len = strlen(prefix)};
	const int rc = aero_store_list(store, prefix, collect_version, &l);
	if (rc != 0) {
		free(l.versions);
		return rc == LISTING_NO_MEMORY ? AERO_ARTIFACT_INTERNAL : store_failure(store, rc);
	}
	if (l.count > 1)
		qsort(l.versions, l.count, sizeof(l.versions[0]), ascending);
	*versions = l.versions;
	*count = l.count;
	return 0;
}

struct name_list {
	aero_artifact_name_fn fn;
	void *ctx;
	char name[AERO_ARTIFACT_NAME_MAX + 1];
	uint64_t latest;
};

static int flush_name(struct name_list *l)
{
	int rc = 0;
	if (l->name[0] != '\0' && l->latest > 0)
		rc = l->fn(l->ctx, l->name, l->latest);
	l->name[0] = '\0';
	l->latest = 0;
	return rc;
}

static int collect_name(void *ctx, const char *key, uint64_t size)
{
	(void)size;
	struct name_list *l = ctx;
	const char *name = key + strlen("names/");
	const char *slash = strchr(name, '/');
	if (slash == NULL || (size_t)(slash - name) > AERO_ARTIFACT_NAME_MAX)
		return 0;
	const size_t len = (size_t)(slash - name);
	if (strncmp(l->name, name, len) != 0 || l->name[len] != '\0') {
		const int rc = flush_name(l);
		if (rc != 0)
			return rc;
		memcpy(l->name, name, len);
		l->name[len] = '\0';
		if (aero_artifact_name_check(l->name) < 0) {
			l->name[0] = '\0';
			return 0;
		}
	}
	const uint64_t v = parse_version_file(slash + 1);
	if (v > l->latest)
		l->latest = v;
	return 0;
}

int aero_artifact_names_list(struct aero_store *store, aero_artifact_name_fn fn, void *ctx)
{
	struct name_list l = {.fn = fn, .ctx = ctx};
	int rc = aero_store_list(store, "names/", collect_name, &l);
	if (rc == 0)
		rc = flush_name(&l);
	if (rc > 0)
		return rc == LISTING_NO_MEMORY ? AERO_ARTIFACT_INTERNAL : rc;
	return rc == 0 ? 0 : store_failure(store, rc);
}

int aero_artifact_version_fetch(struct aero_store *store, const char *name, uint64_t version,
                                struct aero_artifact_version *v)
{
	char key[KEY_MAX];
	version_key(name, version, key);
	char *text = NULL;
	size_t len = 0;
	const int rc = aero_store_get_bytes(store, key, AERO_ARTIFACT_RECORD_MAX, &text, &len);
	if (rc == AERO_STORE_NOT_FOUND)
		return aero_artifact_fail(AERO_ARTIFACT_UNKNOWN,
		                          "artifact '%s' has no version %" PRIu64
		                          " in %s; 'aero-launch "
		                          "artifact ls %s' lists its versions",
		                          name, version, aero_store_url(store), name);
	if (rc != AERO_STORE_OK)
		return store_failure(store, rc);
	const int parsed = aero_artifact_version_parse(text, len, name, version, v);
	free(text);
	if (parsed < 0)
		return aero_artifact_fail(AERO_ARTIFACT_BAD_INPUT,
		                          "%s in %s is not a version record: %s; the store was "
		                          "written by something else or damaged",
		                          key, aero_store_url(store), aero_error_last());
	return 0;
}

static int unknown_name(struct aero_store *store, const char *name)
{
	aero_error_set("no artifact named '%s' in %s; 'aero-launch artifact ls' lists the names "
	               "there (is AERO_STORE right?)",
	               name, aero_store_url(store));
	return AERO_ARTIFACT_UNKNOWN;
}

int aero_artifact_resolve(struct aero_store *store, const struct aero_artifact_ref *ref,
                          struct aero_artifact_version *v)
{
	if (ref->kind == AERO_REF_VERSION)
		return aero_artifact_version_fetch(store, ref->name, ref->version, v);
	uint64_t *versions = NULL;
	size_t count = 0;
	int rc = aero_artifact_versions_list(store, ref->name, &versions, &count);
	if (rc == 0 && count == 0)
		rc = unknown_name(store, ref->name);
	if (rc == 0 && ref->kind == AERO_REF_LATEST)
		rc = aero_artifact_version_fetch(store, ref->name, versions[count - 1], v);
	else if (rc == 0) {
		rc = AERO_ARTIFACT_UNKNOWN;
		for (size_t i = count; i-- > 0 && rc == AERO_ARTIFACT_UNKNOWN;) {
			rc = aero_artifact_version_fetch(store, ref->name, versions[i], v);
			if (rc == 0 && strcmp(v->manifest, ref->digest) != 0) {
				aero_artifact_version_free(v);
				rc = AERO_ARTIFACT_UNKNOWN;
			}
		}
		if (rc == AERO_ARTIFACT_UNKNOWN)
			aero_error_set("no version of artifact '%s' in %s has manifest sha256:%s; "
			               "'aero-launch artifact ls %s' lists its versions",
			               ref->name, aero_store_url(store), ref->digest, ref->name);
	}
	free(versions);
	return rc;
}

int aero_artifact_manifest_fetch(struct aero_store *store, const struct aero_artifact_version *v,
                                 struct aero_artifact_manifest *m)
{
	char key[96];
	(void)snprintf(key, sizeof(key), "manifests/sha256/%s.json", v->manifest);
	char *text = NULL;
	size_t len = 0;
	const int rc = aero_store_get_bytes(store, key, AERO_ARTIFACT_MANIFEST_MAX, &text, &len);
	if (rc == AERO_STORE_NOT_FOUND)
		return aero_artifact_fail(AERO_ARTIFACT_STORE,
		                          "the manifest of %s:v%" PRIu64
		                          " (%s) is missing from %s; the "
		                          "store was damaged: put the artifact again",
		                          v->name, v->version, key, aero_store_url(store));
	if (rc != AERO_STORE_OK)
		return store_failure(store, rc);
	char got[65];
	const void *parts[] = {text};
	const size_t lengths[] = {len};
	aero_sha256_hex(parts, lengths, 1, got);
	int status = 0;
	if (strcmp(got, v->manifest) != 0)
		status = aero_artifact_fail(
		        AERO_ARTIFACT_DIGEST,
		        "the manifest %s in %s has bytes that hash to sha256:%s: the "
		        "store was damaged or tampered with; nothing was written",
		        key, aero_store_url(store), got);
	else if (aero_artifact_manifest_parse(text, len, m) < 0)
		status = aero_artifact_fail(
		        AERO_ARTIFACT_BAD_INPUT,
		        "refusing the manifest of %s:v%" PRIu64 " in %s: %s; nothing "
		        "was written",
		        v->name, v->version, aero_store_url(store), aero_error_last());
	free(text);
	return status;
}

/* A short pause after losing a race, so that racing writers spread out. */
static void back_off(unsigned attempt)
{
	unsigned char jitter = 0;
	if (getrandom(&jitter, 1, GRND_NONBLOCK) != 1)
		jitter = (unsigned char)getpid();
	const long ns =
	        (long)((attempt < 10 ? attempt : 10) + 1) * 250000L * (long)(1 + jitter % 4);
	const struct timespec pause = {0, ns};
	(void)nanosleep(&pause, NULL);
}

int aero_artifact_publish(struct aero_store *store, struct aero_artifact_version *v, cJSON *lineage,
                          bool *unchanged)
{
	*unchanged = false;
	for (unsigned attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
		uint64_t *versions = NULL;
		size_t count = 0;
		int rc = aero_artifact_versions_list(store, v->name, &versions, &count);
		const uint64_t latest = rc == 0 && count > 0 ? versions[count - 1] : 0;
		free(versions);
		struct aero_artifact_version newest = {.version = 0};
		if (rc == 0 && latest > 0)
			rc = aero_artifact_version_fetch(store, v->name, latest, &newest);
		if (rc == 0 && latest > 0 && strcmp(newest.manifest, v->manifest) == 0) {
			aero_artifact_version_free(v);
			*v = newest;
			*unchanged = true;
			cJSON_Delete(lineage);
			return 0;
		}
		aero_artifact_version_free(&newest);
		if (rc != 0) {
			cJSON_Delete(lineage);
			return rc;
		}
		v->version = latest + 1;
		cJSON *mine = cJSON_Duplicate(lineage, 1);
		char *text = mine != NULL ? aero_artifact_version_make(v, mine) : NULL;
		if (text == NULL) {
			cJSON_Delete(lineage);
			return aero_artifact_fail(AERO_ARTIFACT_INTERNAL,
			                          "out of memory writing a version record");
		}
		char key[KEY_MAX];
		version_key(v->name, v->version, key);
		rc = aero_store_put_bytes(store, key, text, strlen(text), AERO_STORE_IF_ABSENT);
		free(text);
		if (rc == AERO_STORE_OK) {
			cJSON_Delete(lineage);
			return 0;
		}
		if (rc != AERO_STORE_EXISTS) {
			cJSON_Delete(lineage);
			return store_failure(store, rc);
		}
		back_off(attempt);
	}
	cJSON_Delete(lineage);
	aero_error_set("gave up publishing a new version of '%s' in %s after %d tries: other "
	               "writers kept taking the next number; try again",
	               v->name, aero_store_url(store), PUBLISH_ATTEMPTS);
	return AERO_ARTIFACT_STORE;
}
