/* What an artifact operation tells: its JSON line (stdout with --json, and
 * the run's artifacts.jsonl) and its summary on stderr. */
#include "artifact.h"

#include "canonjson.h"
#include "error.h"
#include "journal.h"
#include "log.h"
#include "progress.h"
#include "runsdir.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *aero_artifact_result_json(const struct aero_artifact_result *r, const char *dir)
{
	char digest[72];
	(void)snprintf(digest, sizeof(digest), "sha256:%s", r->digest);
	cJSON *o = cJSON_CreateObject();
	char *text = NULL;
	if (o != NULL && cJSON_AddStringToObject(o, "op", r->put ? "put" : "get") != NULL &&
	    cJSON_AddStringToObject(o, "name", r->name) != NULL &&
	    cJSON_AddNumberToObject(o, "version", (double)r->version) != NULL &&
	    cJSON_AddStringToObject(o, "digest", digest) != NULL &&
	    cJSON_AddNumberToObject(o, "files", (double)r->files) != NULL &&
	    cJSON_AddNumberToObject(o, "size", (double)r->size) != NULL &&
	    (dir != NULL ? cJSON_AddStringToObject(o, "dir", dir)
	                 : cJSON_AddNullToObject(o, "dir")) != NULL &&
	    cJSON_AddBoolToObject(o, "unchanged", r->unchanged) != NULL)
		text = aero_json_canonical(o);
	cJSON_Delete(o);
	return text;
}

int aero_artifact_journal_append(const char *line)
{
	const char *run_dir = getenv("AERO_RUN_DIR");
	if (run_dir == NULL || run_dir[0] == '\0')
		return 0;
	return aero_artifact_journal_write(run_dir, line);
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

void aero_artifact_result_say(const struct aero_artifact_result *r, const char *dir)
{
	char size[AERO_SIZE_TEXT_MAX], moved[AERO_SIZE_TEXT_MAX];
	aero_progress_size(r->size, size);
	aero_progress_size(r->moved_bytes, moved);
	if (r->put)
		aero_log_notice("%s %s:v%" PRIu64 " (sha256:%.12s): %" PRIu64 " %s, %s; %" PRIu64
		                " %s sent (%s), %" PRIu64 " already in the store; %" PRIu64
		                " %s hashed, %" PRIu64 " known from the index",
		                r->unchanged ? "unchanged:" : "put", r->name, r->version, r->digest,
		                r->files, plural(r->files, "file", "files"), size, r->moved_objects,
		                plural(r->moved_objects, "object", "objects"), moved,
		                r->kept_objects, r->hashed_files,
		                plural(r->hashed_files, "file", "files"), r->indexed_files);
	else
		aero_log_notice("got %s:v%" PRIu64 " (sha256:%.12s) into %s: %" PRIu64 " %s, %s; "
		                "%" PRIu64 " %s fetched (%s), %" PRIu64 " from the cache",
		                r->name, r->version, r->digest, dir, r->files,
		                plural(r->files, "file", "files"), size, r->moved_objects,
		                plural(r->moved_objects, "object", "objects"), moved,
		                r->kept_objects);
}
