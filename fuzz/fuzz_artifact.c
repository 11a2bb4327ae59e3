/* lib/artifact: what a hostile store or a user can hand the parsers. The
 * input, split at the first "\n%%\n", is a manifest and then a reference and
 * overrides (split at the first newline). A manifest that parses has only
 * safe paths, in order, and its canonical text parses to the same manifest;
 * the same text as a version record parses or not without harm; a reference
 * that parses prints as text that parses to the same reference; overrides
 * either fail or give a reference that prints and parses back. */
#include "manifest.h"
#include "record.h"
#include "ref.h"

#include "support.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether path, split at '/', has an empty, "." or ".." component. */
static bool escapes(const char *path)
{
	for (const char *p = path;; p++) {
		const size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return true;
		p += n;
		if (*p == '\0')
			return false;
	}
}

static void check_manifest(const char *text, size_t len)
{
	struct aero_artifact_manifest m;
	if (aero_artifact_manifest_parse(text, len, &m) < 0)
		return;
	for (size_t i = 0; i < m.count; i++) {
		const char *p = m.files[i].path;
		if (aero_artifact_path_check(p) != 0 || p[0] == '/' || escapes(p) ||
		    strlen(m.files[i].sha256) != 64)
			abort();
		if (i > 0 && strcmp(m.files[i - 1].path, p) >= 0)
			abort();
	}
	char digest[65], again_digest[65];
	char *canonical = aero_artifact_manifest_text(&m, digest);
	if (canonical == NULL)
		abort();
	struct aero_artifact_manifest again;
	if (aero_artifact_manifest_parse(canonical, strlen(canonical), &again) != 0 ||
	    again.count != m.count)
		abort();
	char *twice = aero_artifact_manifest_text(&again, again_digest);
	if (twice == NULL || strcmp(canonical, twice) != 0 || strcmp(digest, again_digest) != 0)
		abort();
	free(twice);
	free(canonical);
	aero_artifact_manifest_free(&again);
	aero_artifact_manifest_free(&m);
}

static void check_ref(const struct aero_artifact_ref *ref)
{
	char text[AERO_ARTIFACT_REF_TEXT_MAX];
	aero_artifact_ref_format(ref, text);
	struct aero_artifact_ref back;
	if (aero_artifact_ref_parse(text, &back) != 0 || strcmp(back.name, ref->name) != 0 ||
	    back.kind != ref->kind ||
	    (ref->kind == AERO_REF_VERSION && back.version != ref->version) ||
	    (ref->kind == AERO_REF_DIGEST && strcmp(back.digest, ref->digest) != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	const char *parts[2];
	size_t lens[2];
	const size_t n = fuzz_split(text, size, "\n%%\n", parts, lens, 2);
	check_manifest(parts[0], lens[0]);
	struct aero_artifact_version v;
	if (aero_artifact_version_parse(parts[0], lens[0], "data", 3, &v) == 0) {
		if (v.version != 3 || strcmp(v.name, "data") != 0 || strlen(v.manifest) != 64)
			abort();
		aero_artifact_version_free(&v);
	}
	if (n == 2) {
		char *rest = strndup(parts[1], lens[1]);
		if (rest == NULL)
			abort();
		char *overrides = rest + strcspn(rest, "\n");
		if (*overrides != '\0')
			*overrides++ = '\0';
		struct aero_artifact_ref ref;
		if (aero_artifact_ref_parse(rest, &ref) == 0) {
			if (aero_artifact_name_check(ref.name) != 0)
				abort();
			check_ref(&ref);
			bool applied = false;
			if (aero_artifact_overrides_apply(overrides, &ref, &applied) == 0)
				check_ref(&ref);
		}
		free(rest);
	}
	free(text);
	return 0;
}
