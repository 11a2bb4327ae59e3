/* RUN_DIR/outputs/NAME: one small file per artifact the run put, rewritten
 * by each put of that name (the journal's lock orders them: the latest wins). */
#include "outputs.h"

#include "error.h"
#include "file.h"
#include "ref.h"
#include "runsdir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int aero_artifact_outputs_note(const char *run_dir, const cJSON *record)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(record, "op");
	if (!cJSON_IsString(op) || strcmp(op->valuestring, "put") != 0)
		return 0;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(record, "name");
	const cJSON *digest = cJSON_GetObjectItemCaseSensitive(record, "digest");
	/* The name becomes a file name: only what names an artifact (no '/',
	 * no leading '.'), and a digest as the store writes it. */
	if (!cJSON_IsString(name) || aero_artifact_name_check(name->valuestring) < 0 ||
	    !cJSON_IsString(digest) || strncmp(digest->valuestring, "sha256:", 7) != 0 ||
	    aero_artifact_hex_check(digest->valuestring + 7, "the digest") < 0)
		return aero_error_set("a put without a valid name and digest cannot be noted in "
		                      "%s/" AERO_ARTIFACT_OUTPUTS_DIR,
		                      run_dir);
	char *dir = aero_path_join(run_dir, AERO_ARTIFACT_OUTPUTS_DIR);
	char *path = dir != NULL ? aero_path_join(dir, name->valuestring) : NULL;
	int rc = 0;
	if (path == NULL)
		rc = aero_error_set("out of memory");
	else if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		rc = aero_error_set("cannot make %s: %s", dir, strerror(errno));
	else if (aero_file_write_atomic(path, digest->valuestring) < 0)
		rc = aero_error_set("cannot note the put of %s: %s", name->valuestring,
		                    aero_error_last());
	free(path);
	free(dir);
	return rc;
}
