/* The rerun compared with the run it repeats. The environment is compared by
 * aero-init diff, as `runs diff` does, less what a rerun changes by design. */
#include "rerun_report.h"

#include "error.h"
#include "file.h"
#include "init_diff.h"
#include "log.h"
#include "rerun_metrics.h"
#include "runsdir.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX ((size_t)1024 * 1024 * 1024)

/* What a rerun changes by design: its worktree's HEAD is detached (no
 * branch); it gives the seed (whatever its source was), which also removes the
 * "no seed given" warning (the other warnings follow from facts compared
 * anyway: CPU flags, variables, GPUs); it pins the inputs with
 * AERO_ARTIFACT_OVERRIDES, whose effect the inputs section shows; and a
 * pipeline task's rerun is no part of that pipeline's run (AERO_PIPELINE). */
static const char *const by_design[] = {"git.branch",           "seed.source",
                                        "determinism.warnings", "env.AERO_ARTIFACT_OVERRIDES",
                                        "env.AERO_PIPELINE",    NULL};

/* The image id the rerun recorded (malloc'd); NULL when none. */
static char *new_image_id(const char *dir)
{
	cJSON *manifest = aero_file_read_json(dir, "manifest.json", MANIFEST_MAX);
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(manifest, "image"), "id");
	char *copy = cJSON_IsString(id) ? strdup(id->valuestring) : NULL;
	cJSON_Delete(manifest);
	return copy;
}

/* "reused", "rebuilt-same" or "rebuilt-different", said once in words too. */
static const char *image_verdict(const struct aero_rerun_outcome *o)
{
	if (o->image_reused) {
		if (!o->json)
			printf("image: reused %s\n", o->recorded_image);
		return "reused";
	}
	char *rebuilt = new_image_id(o->new_dir);
	const bool same = rebuilt != NULL && o->recorded_image != NULL &&
	                  strcmp(rebuilt, o->recorded_image) == 0;
	if (!o->json && same)
		printf("image: rebuilt from the commit: %s, the one the run recorded\n", rebuilt);
	else if (!o->json)
		printf("image: rebuilt from the commit: %s, not the %s the run recorded (a build "
		       "records its time, so ids rarely match; the environment's differences "
		       "below show what differs inside)\n",
		       rebuilt != NULL ? rebuilt : "(none recorded)",
		       o->recorded_image != NULL ? o->recorded_image : "(none)");
	free(rebuilt);
	return same ? "rebuilt-same" : "rebuilt-different";
}

/* aero-init diff of the two manifests: printed (text), or its number of
 * changes (JSON). -1 after saying why when it cannot be run. */
static int environment(const struct aero_rerun_outcome *o, int *changes)
{
	char *a = aero_path_join(o->old_dir, "manifest.json");
	char *b = aero_path_join(o->new_dir, "manifest.json");
	char *text = NULL;
	int status = AERO_EXIT_INTERNAL;
	if (a != NULL && b != NULL) {
		if (!o->json)
			fputs("environment: ", stdout);
		status = aero_init_diff(a, b, by_design, o->json ? &text : NULL);
	}
	*changes = -1;
	if (text != NULL) {
		cJSON *doc = cJSON_Parse(text);
		const cJSON *list = cJSON_GetObjectItemCaseSensitive(doc, "changes");
		*changes = cJSON_IsArray(list) ? cJSON_GetArraySize(list) : -1;
		cJSON_Delete(doc);
	}
	free(text);
	free(a);
	free(b);
	if (status != 0 && status != 1)
		return -1;
	return !o->json || *changes >= 0 ? 0 : -1;
}

/* The final metrics of both runs compared; NULL after saying why. */
static cJSON *metrics(const struct aero_rerun_outcome *o, size_t *differences)
{
	cJSON *old = aero_run_final_metrics(o->old_dir);
	cJSON *fresh = old != NULL ? aero_run_final_metrics(o->new_dir) : NULL;
	cJSON *comparison = fresh != NULL ? aero_metrics_compare(old, fresh, differences) : NULL;
	if (comparison == NULL)
		aero_log_error("cannot compare the runs' metrics: %s", aero_error_last());
	cJSON_Delete(old);
	cJSON_Delete(fresh);
	return comparison;
}

static int print_json(const struct aero_rerun_outcome *o, const char *image, int changes,
                      cJSON *comparison, size_t differences)
{
	cJSON *doc = cJSON_CreateObject();
	if (doc == NULL || cJSON_AddStringToObject(doc, "run", o->new_id) == NULL ||
	    cJSON_AddStringToObject(doc, "of", o->old_id) == NULL ||
	    cJSON_AddStringToObject(doc, "image", image) == NULL ||
	    cJSON_AddNumberToObject(doc, "exit_status", o->run_status) == NULL ||
	    cJSON_AddNumberToObject(doc, "environment_changes", changes) == NULL ||
	    cJSON_AddBoolToObject(doc, "metrics_identical", differences == 0) == NULL ||
	    !cJSON_AddItemReferenceToObject(doc, "metrics", comparison)) {
		cJSON_Delete(doc);
		aero_log_error("out of memory");
		return -1;
	}
	char *text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (text == NULL) {
		aero_log_error("out of memory");
		return -1;
	}
	puts(text);
	free(text);
	return 0;
}

int aero_rerun_report(const struct aero_rerun_outcome *o)
{
	if (!o->json)
		printf("rerun %s of %s\n", o->new_id, o->old_id);
	const char *image = image_verdict(o);
	int changes = 0;
	size_t differences = 0;
	const int env_rc = environment(o, &changes);
	cJSON *comparison = metrics(o, &differences);
	int rc = env_rc == 0 && comparison != NULL ? 0 : -1;
	if (comparison != NULL && o->json) {
		if (print_json(o, image, changes, comparison, differences) < 0)
			rc = -1;
	} else if (comparison != NULL) {
		aero_metrics_print(comparison, stdout);
		if (differences == 0)
			printf("result: the final metrics are identical\n");
		else
			printf("result: %zu of %d final metrics differ\n", differences,
			       cJSON_GetArraySize(comparison));
	}
	cJSON_Delete(comparison);
	if (fflush(stdout) != 0)
		rc = -1;
	if (o->run_status != 0)
		return o->run_status;
	if (rc < 0)
		return AERO_EXIT_INTERNAL;
	return differences == 0 ? 0 : 1;
}
