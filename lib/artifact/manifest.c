/* Artifact manifests: checked on the way in from a store (a hostile store
 * must not be able to name a path outside the target directory), written in
 * canonical JSON on the way out. */
#include "manifest.h"

#include "canonjson.h"
#include "error.h"
#include "ref.h"
#include "sha256.h"
#include "utf8.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static bool is_utf8(const char *s, size_t len)
{
	if (aero_utf8_is_plain(s, len))
		return true;
	char *clean = malloc(AERO_UTF8_SANITIZED_MAX(len) + 1);
	if (clean == NULL)
		return false;
	const size_t n = aero_utf8_sanitize(clean, s, len);
	const bool same = n == len && memcmp(clean, s, len) == 0;
	free(clean);
	return same;
}

int aero_artifact_path_check(const char *path)
{
	const size_t len = strlen(path);
	if (len == 0)
		return aero_error_set("an artifact path is empty");
	if (len > AERO_ARTIFACT_PATH_MAX)
		return aero_error_set("artifact path '%.60s...' is longer than %d bytes", path,
		                      AERO_ARTIFACT_PATH_MAX);
	if (path[0] == '/')
		return aero_error_set("artifact path '%s' is absolute; paths must be relative",
		                      path);
	if (!is_utf8(path, len))
		return aero_error_set("artifact path '%s' is not valid UTF-8", path);
	for (const char *p = path; *p != '\0';) {
		const char *slash = strchr(p, '/');
		const size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return aero_error_set("artifact path '%s' has an empty, '.' or '..' "
			                      "component; paths must stay inside the artifact",
			                      path);
		if (n > AERO_ARTIFACT_COMPONENT_MAX)
			return aero_error_set("artifact path '%.60s...' has a component longer "
			                      "than %d bytes",
			                      path, AERO_ARTIFACT_COMPONENT_MAX);
		if (slash == NULL)
			break;
		p = slash + 1;
		if (*p == '\0')
			return aero_error_set("artifact path '%s' ends with '/'", path);
	}
	return 0;
}

static int by_path(const void *a, const void *b)
{
	const struct aero_artifact_file *fa = a, *fb = b;
	return strcmp(fa->path, fb->path);
}

void aero_artifact_manifest_sort(struct aero_artifact_manifest *m)
{
	if (m->count > 1)
		qsort(m->files, m->count, sizeof(m->files[0]), by_path);
}

/* Whether the first len bytes of path are, exactly, the path of a file. */
static bool is_file_path(const struct aero_artifact_manifest *m, const char *path, size_t len)
{
	size_t lo = 0, hi = m->count;
	while (lo < hi) {
		const size_t mid = lo + (hi - lo) / 2;
		const char *p = m->files[mid].path;
		int c = strncmp(p, path, len);
		if (c == 0 && p[len] != '\0')
			c = 1;
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

int aero_artifact_manifest_check_tree(const struct aero_artifact_manifest *m)
{
	for (size_t i = 0; i < m->count; i++) {
		const char *path = m->files[i].path;
		if (i > 0 && strcmp(m->files[i - 1].path, path) >= 0)
			return aero_error_set(strcmp(m->files[i - 1].path, path) == 0
			                              ? "artifact path '%s' is listed twice"
			                              : "artifact paths are not sorted ('%s' comes "
			                                "after '%s')",
			                      path, m->files[i - 1].path);
		for (const char *slash = strchr(path, '/'); slash != NULL;
		     slash = strchr(slash + 1, '/'))
			if (is_file_path(m, path, (size_t)(slash - path)))
				return aero_error_set("artifact path '%.*s' is a file and also the "
				                      "directory of '%s'",
				                      (int)(slash - path), path, path);
	}
	return 0;
}

/* One entry of the "files" array. */
static int parse_file(const cJSON *item, size_t index, struct aero_artifact_file *f)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(item, "path");
	const cJSON *sha = cJSON_GetObjectItemCaseSensitive(item, "sha256");
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(item, "size");
	const cJSON *mode = cJSON_GetObjectItemCaseSensitive(item, "mode");
	if (!cJSON_IsObject(item) || !cJSON_IsString(path) || !cJSON_IsString(sha) ||
	    !cJSON_IsNumber(size) || !cJSON_IsString(mode))
		return aero_error_set("file %zu of the manifest lacks a string path, sha256 or "
		                      "mode, or a number size",
		                      index + 1);
	if (aero_artifact_path_check(path->valuestring) < 0 ||
	    aero_artifact_hex_check(sha->valuestring, "sha256") < 0)
		return -1;
	const double s = size->valuedouble;
	if (!(s >= 0 && s <= 9007199254740991.0) || s != (double)(uint64_t)s)
		return aero_error_set("file '%s' has size %g, not a whole number of bytes",
		                      path->valuestring, s);
	if (strcmp(mode->valuestring, "0644") != 0 && strcmp(mode->valuestring, "0755") != 0)
		return aero_error_set("file '%s' has mode '%s'; only 0644 and 0755 are allowed",
		                      path->valuestring, mode->valuestring);
	f->path = strdup(path->valuestring);
	if (f->path == NULL)
		return aero_error_set("out of memory");
	memcpy(f->sha256, sha->valuestring, 65);
	f->size = (uint64_t)s;
	f->exec = mode->valuestring[1] == '7';
	return 0;
}

int aero_artifact_manifest_parse(const char *text, size_t len, struct aero_artifact_manifest *m)
{
	memset(m, 0, sizeof(*m));
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(root, "files");
	int rc = 0;
	if (!cJSON_IsObject(root))
		rc = aero_error_set("not a JSON object");
	else if (!cJSON_IsString(schema) || strcmp(schema->valuestring, AERO_ARTIFACT_SCHEMA) != 0)
		rc = aero_error_set("its schema is not %s (a newer Aeromancy wrote it?)",
		                    AERO_ARTIFACT_SCHEMA);
	else if (!cJSON_IsArray(files))
		rc = aero_error_set("it has no \"files\" array");
	const size_t count = rc == 0 ? (size_t)cJSON_GetArraySize(files) : 0;
	if (count > 0) {
		m->files = calloc(count, sizeof(m->files[0]));
		if (m->files == NULL)
			rc = aero_error_set("out of memory");
	}
	const cJSON *item;
	cJSON_ArrayForEach(item, files)
	{
		if (rc < 0 || m->count == count)
			break;
		rc = parse_file(item, m->count, &m->files[m->count]);
		if (rc == 0)
			m->count++;
	}
	if (rc == 0)
		rc = aero_artifact_manifest_check_tree(m);
	cJSON_Delete(root);
	if (rc < 0)
		aero_artifact_manifest_free(m);
	return rc;
}

/* The JSON of one file; NULL when out of memory. */
static cJSON *file_json(const struct aero_artifact_file *f)
{
	cJSON *o = cJSON_CreateObject();
	if (o == NULL || cJSON_AddStringToObject(o, "path", f->path) == NULL ||
	    cJSON_AddStringToObject(o, "sha256", f->sha256) == NULL ||
	    cJSON_AddNumberToObject(o, "size", (double)f->size) == NULL ||
	    cJSON_AddStringToObject(o, "mode", f->exec ? "0755" : "0644") == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

char *aero_artifact_manifest_text(const struct aero_artifact_manifest *m, char digest[65])
{
	cJSON *root = cJSON_CreateObject();
	cJSON *files = root != NULL ? cJSON_AddArrayToObject(root, "files") : NULL;
	bool ok = files != NULL &&
	          cJSON_AddStringToObject(root, "schema", AERO_ARTIFACT_SCHEMA) != NULL;
	for (size_t i = 0; ok && i < m->count; i++) {
		cJSON *f = file_json(&m->files[i]);
		ok = f != NULL && cJSON_AddItemToArray(files, f);
		if (!ok)
			cJSON_Delete(f);
	}
	char *text = ok ? aero_json_canonical(root) : NULL;
	cJSON_Delete(root);
	if (text == NULL) {
		aero_error_set("out of memory writing the manifest");
		return NULL;
	}
	const void *parts[] = {text};
	const size_t lengths[] = {strlen(text)};
	aero_sha256_hex(parts, lengths, 1, digest);
	return text;
}

uint64_t aero_artifact_manifest_size(const struct aero_artifact_manifest *m)
{
	uint64_t total = 0;
	for (size_t i = 0; i < m->count; i++)
		total += m->files[i].size;
	return total;
}

void aero_artifact_manifest_free(struct aero_artifact_manifest *m)
{
	for (size_t i = 0; i < m->count; i++)
		free(m->files[i].path);
	free(m->files);
	m->files = NULL;
	m->count = 0;
}
