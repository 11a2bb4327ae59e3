/* Artifact names and references: "name", "name:latest", "name:v3", "name:3",
 * "name@sha256:<64 hex>", and the AERO_ARTIFACT_OVERRIDES that replace the
 * version asked for a name. Pure parsers: no store, no environment. */
#ifndef AERO_ARTIFACT_REF_H
#define AERO_ARTIFACT_REF_H

#include <stdbool.h>
#include <stdint.h>

#define AERO_ARTIFACT_NAME_MAX 128
/* The largest version number: every integer up to it is exact in JSON. */
#define AERO_ARTIFACT_VERSION_MAX ((UINT64_C(1) << 53) - 1)
/* Room for any reference's text from aero_artifact_ref_format, NUL included. */
#define AERO_ARTIFACT_REF_TEXT_MAX (AERO_ARTIFACT_NAME_MAX + 80)

enum aero_artifact_ref_kind {
	AERO_REF_LATEST,  /* the highest version */
	AERO_REF_VERSION, /* version */
	AERO_REF_DIGEST,  /* the version whose manifest has digest */
};

struct aero_artifact_ref {
	char name[AERO_ARTIFACT_NAME_MAX + 1];
	enum aero_artifact_ref_kind kind;
	uint64_t version; /* AERO_REF_VERSION */
	char digest[65];  /* AERO_REF_DIGEST: 64 lowercase hex digits */
};

/* 0 when name matches [A-Za-z0-9][A-Za-z0-9._-]{0,127}; else -1 with aero_error. */
int aero_artifact_name_check(const char *name);

/* 0 when text is 64 lowercase hexadecimal digits; else -1 with aero_error naming what. */
int aero_artifact_hex_check(const char *text, const char *what);

/* Parses a reference into *ref; -1 with aero_error naming the bad part. */
int aero_artifact_ref_parse(const char *text, struct aero_artifact_ref *ref);

/* Writes ref's canonical text ("data:v3", "data:latest", "data@sha256:...") into buf. */
void aero_artifact_ref_format(const struct aero_artifact_ref *ref,
                              char buf[AERO_ARTIFACT_REF_TEXT_MAX]);

/* Applies overrides ("name=v3,other=sha256:<hex>,x=latest") to ref: when one
 * names ref's name, ref's version is replaced and *applied is true. The whole
 * list is checked: -1 with aero_error for any bad or repeated entry. */
int aero_artifact_overrides_apply(const char *overrides, struct aero_artifact_ref *ref,
                                  bool *applied);

#endif
