/* The run's journal of artifacts: an append-only log, and the manifest's view
 * of it rebuilt from the whole log each time (a handful of lines). */
#include "journal.h"

#include "canonjson.h"
#include "error.h"
#include "file.h"
#include "outputs.h"
#include "runsdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_NAME "artifacts.jsonl"
#define MANIFEST_MAX ((size_t)64 * 1024 * 1024)
#define LOG_MAX ((size_t)64 * 1024 * 1024)

/* The fields of a record that the manifest keeps. */
static cJSON *entry_of(const cJSON *record)
{
	static const char *const fields[] = {"name", "version", "digest", "files", "size"};
	cJSON *entry = cJSON_CreateObject();
	for (size_t i = 0; entry != NULL && i < sizeof(fields) / sizeof(fields[0]); i++) {
		const cJSON *value = cJSON_GetObjectItemCaseSensitive(record, fields[i]);
		if (value != NULL &&
		    !cJSON_AddItemToObject(entry, fields[i], cJSON_Duplicate(value, true))) {
			cJSON_Delete(entry);
			return NULL;
		}
	}
	return entry;
}

static bool listed(const cJSON *list, const cJSON *entry)
{
	const cJSON *digest = cJSON_GetObjectItemCaseSensitive(entry, "digest");
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(entry, "name");
	const cJSON *item;
	cJSON_ArrayForEach(item, list)
	{
		if (cJSON_Compare(cJSON_GetObjectItemCaseSensitive(item, "digest"), digest, true) &&
		    cJSON_Compare(cJSON_GetObjectItemCaseSensitive(item, "name"), name, true))
			return true;
	}
	return false;
}

/* Splits the log's records into gets and puts, each once. */
static int fold(const char *log, cJSON *inputs, cJSON *outputs)
{
	for (const char *line = log; *line != '\0';) {
		const char *end = strchr(line, '\n');
		const size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		cJSON *record = cJSON_ParseWithLength(line, len);
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(record, "op");
		cJSON *list = NULL;
		if (cJSON_IsString(op))
			list = strcmp(op->valuestring, "get") == 0   ? inputs
			       : strcmp(op->valuestring, "put") == 0 ? outputs
			                                             : NULL;
		if (list != NULL) {
			cJSON *entry = entry_of(record);
			if (entry == NULL) {
				cJSON_Delete(record);
				return aero_error_set("out of memory");
			}
			if (listed(list, entry))
				cJSON_Delete(entry);
			else
				cJSON_AddItemToArray(list, entry);
		}
		cJSON_Delete(record);
		line += len + (end != NULL ? 1 : 0);
	}
	return 0;
}

static char *read_log(const char *run_dir)
{
	char *path = aero_path_join(run_dir, LOG_NAME);
	char *text = path != NULL ? aero_file_read(path, LOG_MAX, NULL) : NULL;
	const int err = errno;
	free(path);
	if (text == NULL && err == ENOENT)
		text = strdup("");
	return text;
}

/* manifest.json with inputs and outputs from the log, plus the line `extra`
 * not yet appended to it (may be NULL). */
static int update_manifest(const char *run_dir, const char *extra)
{
	char *log = read_log(run_dir);
	if (log != NULL && extra != NULL) {
		const size_t have = strlen(log), more = strlen(extra);
		const bool torn = have > 0 && log[have - 1] != '\n';
		char *both = realloc(log, have + torn + more + 1);
		if (both == NULL) {
			free(log);
			return aero_error_set("out of memory");
		}
		if (torn)
			both[have] = '\n';
		memcpy(both + have + torn, extra, more + 1);
		log = both;
	}
	cJSON *manifest = aero_file_read_json(run_dir, "manifest.json", MANIFEST_MAX);
	if (manifest == NULL) {
		free(log);
		return 0; /* a run without a manifest (--no-capture of nothing): the log is it */
	}
	cJSON *inputs = cJSON_CreateArray(), *outputs = cJSON_CreateArray();
	int rc = log != NULL && inputs != NULL && outputs != NULL
	                 ? fold(log, inputs, outputs)
	                 : aero_error_set("cannot read %s/%s", run_dir, LOG_NAME);
	if (rc == 0) {
		cJSON_DeleteItemFromObjectCaseSensitive(manifest, "inputs");
		cJSON_DeleteItemFromObjectCaseSensitive(manifest, "outputs");
		const bool added = cJSON_AddItemToObject(manifest, "inputs", inputs) &&
		                   cJSON_AddItemToObject(manifest, "outputs", outputs);
		inputs = outputs = NULL;
		char *text = added ? aero_json_canonical(manifest) : NULL;
		char *path = aero_path_join(run_dir, "manifest.json");
		rc = text != NULL && path != NULL ? aero_file_write_atomic(path, text)
		                                  : aero_error_set("out of memory");
		free(path);
		free(text);
	}
	cJSON_Delete(inputs);
	cJSON_Delete(outputs);
	cJSON_Delete(manifest);
	free(log);
	return rc;
}

int aero_artifact_journal_read(const char *run_dir, cJSON *inputs, cJSON *outputs)
{
	char *log = read_log(run_dir);
	const int rc = log != NULL ? fold(log, inputs, outputs)
	                           : aero_error_set("cannot read %s/%s", run_dir, LOG_NAME);
	free(log);
	return rc;
}

/* Ends a line torn by a crash in the middle of an append, so that the next
 * line stands on its own. */
static int heal(int fd)
{
	struct stat st;
	char last = '\n';
	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
		return -1;
	return last == '\n' ? 0 : aero_write_all(fd, "\n", 1);
}

int aero_artifact_journal_write(const char *run_dir, const char *line)
{
	char *path = aero_path_join(run_dir, LOG_NAME);
	const size_t len = strlen(line);
	char *text = malloc(len + 2);
	if (path == NULL || text == NULL) {
		free(path);
		free(text);
		return aero_error_set("out of memory");
	}
	memcpy(text, line, len);
	text[len] = '\n';
	text[len + 1] = '\0';
	int rc = 0;
	const int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	/* Under the lock, lines of concurrent transfers never interleave and each
	 * rebuild of the manifest sees every line before it. The manifest is
	 * rewritten before the line is appended: a reader of the log (the
	 * courier, telling the trackers) that sees the line finds the manifest
	 * already listing it. */
	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		rc = aero_error_set("cannot record the transfer in %s: %s; check AERO_RUN_DIR",
		                    path, strerror(errno));
	else
		rc = update_manifest(run_dir, text);
	if (rc == 0 && (heal(fd) < 0 || aero_write_all(fd, text, len + 1) < 0 || fsync(fd) < 0)) {
		rc = aero_error_set("cannot record the transfer in %s: %s", path, strerror(errno));
		(void)update_manifest(run_dir, NULL); /* back to what the log says */
	}
	if (rc == 0) { /* still under the lock: of two puts of a name, the later is noted */
		cJSON *record = cJSON_Parse(line);
		rc = record != NULL ? aero_artifact_outputs_note(run_dir, record)
		                    : aero_error_set("cannot record the transfer: not JSON");
		cJSON_Delete(record);
	}
	if (fd >= 0)
		(void)close(fd); /* and with it the lock */
	free(text);
	free(path);
	return rc;
}
