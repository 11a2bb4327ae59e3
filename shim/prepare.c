#include "prepare.h"

#include "canonjson.h"
#include "capture.h"
#include "determinism.h"
#include "error.h"
#include "files.h"
#include "log.h"
#include "privileges.h"
#include "seed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir -p. */
static int make_directories(const char *path)
{
	char *copy = strdup(path);
	if (copy == NULL)
		return aero_error_set("out of memory");
	int rc = 0;
	for (char *p = copy + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		const char saved = *p;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			rc = aero_error_set("cannot create %s: %s", copy, strerror(errno));
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
	return rc;
}

static int write_manifest(const char *run_dir, const cJSON *manifest)
{
	char *text = aero_json_canonical(manifest);
	const size_t len = strlen(run_dir) + sizeof("/manifest.json");
	char *path = malloc(len);
	int rc = text != NULL && path != NULL ? 0 : aero_error_set("out of memory");
	if (rc == 0) {
		(void)snprintf(path, len, "%s/manifest.json", run_dir);
		rc = make_directories(run_dir);
	}
	if (rc == 0)
		rc = aero_file_write_atomic(path, text);
	if (rc == 0)
		aero_log_info("wrote the run manifest to %s", path);
	free(path);
	free(text);
	return rc;
}

/* The environment as the experiment would find it, before aero-init adds
 * seeds and settings (those are recorded in sections of their own). */
static cJSON *capture_environment(const struct aero_init_options *opts)
{
	struct aero_capture_setup setup;
	if (aero_capture_setup_init(&setup) < 0) {
		aero_capture_setup_free(&setup);
		return NULL;
	}
	const struct aero_capture_ctx ctx = {
	        .root = "",
	        .live = true,
	        .command = opts->command,
	        .env_keep = (const char *const *)setup.env_keep,
	        .salt = setup.salt,
	        .run_id = opts->run_id,
	};
	cJSON *manifest = aero_capture(&ctx);
	aero_capture_setup_free(&setup);
	if (manifest == NULL)
		aero_error_set("out of memory while capturing");
	return manifest;
}

/* run.privileges: what the experiment is started with (privileges.h). */
static int add_privileges(cJSON *manifest, const struct aero_privileges *privileges)
{
	cJSON *run = cJSON_GetObjectItemCaseSensitive(manifest, "run");
	if (run == NULL)
		run = aero_json_add_object(manifest, "run");
	cJSON *part = run != NULL ? aero_json_add_object(run, "privileges") : NULL;
	if (part == NULL)
		return aero_error_set("out of memory");
	return aero_privileges_describe(privileges, part);
}

int aero_prepare_run(const struct aero_init_options *opts, const struct aero_privileges *privileges)
{
	cJSON *manifest = NULL;
	/* Capture when the manifest has somewhere to go; seeds are exported always. */
	if (opts->capture && opts->run_dir != NULL) {
		manifest = capture_environment(opts);
	} else {
		manifest = cJSON_CreateObject();
		if (manifest != NULL &&
		    cJSON_AddNumberToObject(manifest, "schema", AERO_MANIFEST_SCHEMA) == NULL) {
			cJSON_Delete(manifest);
			manifest = NULL;
		}
	}
	int rc = manifest != NULL ? 0 : -1;
	if (rc == 0)
		rc = add_privileges(manifest, privileges);
	cJSON *seed = rc == 0 ? aero_json_add_object(manifest, "seed") : NULL;
	if (rc == 0 && (seed == NULL || aero_seed_apply(opts, seed) < 0))
		rc = -1;
	cJSON *determinism = rc == 0 ? aero_json_add_object(manifest, "determinism") : NULL;
	if (rc == 0 &&
	    (determinism == NULL || aero_determinism_apply(opts, manifest, determinism) < 0))
		rc = -1;
	if (rc == 0 && opts->run_dir != NULL && write_manifest(opts->run_dir, manifest) < 0) {
		aero_log_error(
		        "cannot record the run in %s, so it is not started: %s; give a writable "
		        "directory with --run-dir or AERO_RUN_DIR (or AERO_RUNS_DIR for the "
		        "default ones), or run with --no-record",
		        opts->run_dir, aero_error_last());
		cJSON_Delete(manifest);
		return AERO_EXIT_INTERNAL;
	}
	cJSON_Delete(manifest);
	if (rc < 0) {
		aero_log_error("cannot prepare the run: %s", aero_error_last());
		return AERO_EXIT_INTERNAL;
	}
	return 0;
}
