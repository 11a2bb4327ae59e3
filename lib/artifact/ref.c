/* Artifact names, references and overrides. */
#include "ref.h"

#include "error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_name_char(char c)
{
	return is_name_start(c) || c == '.' || c == '_' || c == '-';
}

/* The length of the name at the start of text (up to the first byte that
 * cannot be in a name), or 0 when text does not start with a name's first byte. */
static size_t name_span(const char *text)
{
	if (!is_name_start(text[0]))
		return 0;
	size_t n = 1;
	while (is_name_char(text[n]))
		n++;
	return n;
}

int aero_artifact_name_check(const char *name)
{
	const size_t n = name_span(name);
	if (n == 0 || name[n] != '\0')
		return aero_error_set("'%s' is not an artifact name: use letters, digits, '.', "
		                      "'_' and '-', starting with a letter or a digit",
		                      name);
	if (n > AERO_ARTIFACT_NAME_MAX)
		return aero_error_set("artifact name '%.40s...' is %zu bytes long; at most %d "
		                      "are allowed",
		                      name, n, AERO_ARTIFACT_NAME_MAX);
	return 0;
}

int aero_artifact_hex_check(const char *text, const char *what)
{
	size_t n = 0;
	while ((text[n] >= '0' && text[n] <= '9') || (text[n] >= 'a' && text[n] <= 'f'))
		n++;
	if (n != 64 || text[n] != '\0')
		return aero_error_set("%s '%s' is not a SHA-256 digest: it must be 64 lowercase "
		                      "hexadecimal digits",
		                      what, text);
	return 0;
}

/* A version number: decimal digits without a leading zero, 1 to the maximum. */
static int parse_version(const char *text, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;
	for (; text[n] >= '0' && text[n] <= '9'; n++) {
		v = v * 10 + (uint64_t)(text[n] - '0');
		if (v > AERO_ARTIFACT_VERSION_MAX)
			break;
	}
	if (n == 0 || text[n] != '\0' || text[0] == '0' || v > AERO_ARTIFACT_VERSION_MAX)
		return aero_error_set("'%s' is not a version: use latest, vN or N with N a whole "
		                      "number from 1 (no leading zeros)",
		                      text);
	*out = v;
	return 0;
}

/* What follows ':' in a reference, or '=' in an override: latest, vN, N,
 * or (for overrides) sha256:<hex>. */
static int parse_selector(const char *text, bool digest_allowed, struct aero_artifact_ref *ref)
{
	if (strcmp(text, "latest") == 0) {
		ref->kind = AERO_REF_LATEST;
		return 0;
	}
	if (digest_allowed && strncmp(text, "sha256:", 7) == 0) {
		if (aero_artifact_hex_check(text + 7, "digest") < 0)
			return -1;
		memcpy(ref->digest, text + 7, 65);
		ref->kind = AERO_REF_DIGEST;
		return 0;
	}
	if (parse_version(text[0] == 'v' ? text + 1 : text, &ref->version) < 0)
		return -1;
	ref->kind = AERO_REF_VERSION;
	return 0;
}

int aero_artifact_ref_parse(const char *text, struct aero_artifact_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	const size_t n = name_span(text);
	if (n == 0 || (text[n] != '\0' && text[n] != ':' && text[n] != '@'))
		return aero_error_set("'%s' is not an artifact reference: use NAME, NAME:latest, "
		                      "NAME:vN or NAME@sha256:DIGEST, where NAME has letters, "
		                      "digits, '.', '_' and '-'",
		                      text);
	if (n > AERO_ARTIFACT_NAME_MAX)
		return aero_error_set("artifact name in '%.40s...' is %zu bytes long; at most %d "
		                      "are allowed",
		                      text, n, AERO_ARTIFACT_NAME_MAX);
	memcpy(ref->name, text, n);
	ref->name[n] = '\0';
	ref->kind = AERO_REF_LATEST;
	if (text[n] == '\0')
		return 0;
	if (text[n] == '@') {
		if (strncmp(text + n + 1, "sha256:", 7) != 0)
			return aero_error_set("'%s': after '@' comes sha256:DIGEST", text);
		if (aero_artifact_hex_check(text + n + 8, "digest") < 0)
			return -1;
		memcpy(ref->digest, text + n + 8, 65);
		ref->kind = AERO_REF_DIGEST;
		return 0;
	}
	if (parse_selector(text + n + 1, false, ref) < 0)
		return aero_error_set("'%s': %s", text, aero_error_last());
	return 0;
}

void aero_artifact_ref_format(const struct aero_artifact_ref *ref,
                              char buf[AERO_ARTIFACT_REF_TEXT_MAX])
{
	switch (ref->kind) {
	case AERO_REF_VERSION:
		(void)snprintf(buf, AERO_ARTIFACT_REF_TEXT_MAX, "%s:v%" PRIu64, ref->name,
		               ref->version);
		break;
	case AERO_REF_DIGEST:
		(void)snprintf(buf, AERO_ARTIFACT_REF_TEXT_MAX, "%s@sha256:%s", ref->name,
		               ref->digest);
		break;
	case AERO_REF_LATEST:
	default:
		(void)snprintf(buf, AERO_ARTIFACT_REF_TEXT_MAX, "%s:latest", ref->name);
		break;
	}
}

/* Checks one "name=selector" entry (len bytes of entry); fills *out. */
static int parse_override(const char *entry, size_t len, struct aero_artifact_ref *out)
{
	char *copy = strndup(entry, len);
	if (copy == NULL)
		return aero_error_set("out of memory");
	int rc = 0;
	char *eq = strchr(copy, '=');
	if (eq == NULL) {
		rc = aero_error_set("AERO_ARTIFACT_OVERRIDES: '%s' is not NAME=VERSION (VERSION: "
		                    "vN, N, latest or sha256:DIGEST)",
		                    copy);
	} else {
		*eq = '\0';
		memset(out, 0, sizeof(*out));
		if (aero_artifact_name_check(copy) < 0 || parse_selector(eq + 1, true, out) < 0)
			rc = aero_error_set("AERO_ARTIFACT_OVERRIDES: %s", aero_error_last());
		else
			memcpy(out->name, copy, strlen(copy) + 1);
	}
	free(copy);
	return rc;
}

/* Whether an entry of overrides before end names name. */
static bool named_before(const char *overrides, const char *end, const char *name)
{
	const size_t name_len = strlen(name);
	for (const char *p = overrides; p < end;) {
		const size_t len = strcspn(p, ",");
		const size_t key = strcspn(p, "=,");
		if (key < len && key == name_len && strncmp(p, name, name_len) == 0)
			return true;
		p += len + (p[len] == ',' ? 1 : 0);
	}
	return false;
}

int aero_artifact_overrides_apply(const char *overrides, struct aero_artifact_ref *ref,
                                  bool *applied)
{
	*applied = false;
	struct aero_artifact_ref found = {.kind = AERO_REF_LATEST};
	bool have = false;
	for (const char *p = overrides; *p != '\0';) {
		const size_t len = strcspn(p, ",");
		if (len > 0) {
			struct aero_artifact_ref entry;
			if (parse_override(p, len, &entry) < 0)
				return -1;
			if (named_before(overrides, p, entry.name))
				return aero_error_set(
				        "AERO_ARTIFACT_OVERRIDES names '%s' twice; keep one",
				        entry.name);
			if (strcmp(entry.name, ref->name) == 0) {
				found = entry;
				have = true;
			}
		}
		p += len + (p[len] == ',' ? 1 : 0);
	}
	if (have) {
		*ref = found;
		*applied = true;
	}
	return 0;
}
