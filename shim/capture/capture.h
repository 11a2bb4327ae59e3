/* Environment capture: a table of probes, each filling one part of the run
 * manifest from files (procfs, sysfs, package databases, version files), never
 * by running tools. A probe that fails records why and stops nothing. */
#ifndef AERO_CAPTURE_H
#define AERO_CAPTURE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* The version of the manifest's layout; see doc/manifest.md. */
#define AERO_MANIFEST_SCHEMA 1

struct aero_capture_ctx {
	const char *root;            /* the tree to read: "" for the running system */
	bool live;                   /* root is the running system (uname, CPUID, rlimits) */
	char *const *command;        /* the experiment's command, or NULL */
	const char *const *env_keep; /* more variable names to record, NULL-terminated */
	const char *salt;            /* salt for hashes of redacted values */
};

/* A probe fills `part` (an object at the probe's path in the manifest); it
 * returns 0, or -1 with aero_error saying why, which is recorded there. */
typedef int (*aero_probe_fill)(const struct aero_capture_ctx *ctx, cJSON *part);

struct aero_probe {
	const char *path; /* "section" or "section.part" */
	aero_probe_fill fill;
};

/* Runs every probe and returns the manifest (schema, sections, fingerprint);
 * NULL only when out of memory. */
cJSON *aero_capture(const struct aero_capture_ctx *ctx);

/* The sections the fingerprint covers: what makes two environments equal. */
extern const char *const aero_fingerprint_sections[];

#endif
