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
	const char *run_id;          /* the run's id, or NULL to draw one */
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

/* What both `aero-init capture` and the capture at start take from the
 * environment: the variables AERO_CAPTURE_ENV names, and the salt of
 * redacted values (AERO_REDACT_SALT, else random). */
struct aero_capture_setup {
	char **env_keep; /* NULL-terminated */
	size_t env_count;
	char *salt;
};

/* Reads AERO_CAPTURE_ENV and AERO_REDACT_SALT. 0, or -1 with aero_error set. */
int aero_capture_setup_init(struct aero_capture_setup *setup);

/* Records one more variable name to capture. */
int aero_capture_setup_add_env(struct aero_capture_setup *setup, const char *name);

/* Frees what the setup holds. */
void aero_capture_setup_free(struct aero_capture_setup *setup);

/* The sections the fingerprint covers: what makes two environments equal. */
extern const char *const aero_fingerprint_sections[];

#endif
