/* packages.dpkg: what `dpkg-query -W` lists, read from dpkg's database. */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_MAX ((size_t)512 * 1024 * 1024)

struct stanza {
	char *package, *version, *architecture, *source, *status;
};

static void stanza_clear(struct stanza *s)
{
	free(s->package);
	free(s->version);
	free(s->architecture);
	free(s->source);
	free(s->status);
	memset(s, 0, sizeof(*s));
}

/* Emits one package unless dpkg considers it not installed at all (purged). */
static int stanza_emit(const struct stanza *s, cJSON *packages)
{
	if (s->package == NULL)
		return 0;
	const char *state = s->status != NULL ? strrchr(s->status, ' ') : NULL;
	state = state != NULL ? state + 1 : "unknown";
	if (strcmp(state, "not-installed") == 0)
		return 0;
	cJSON *pkg = cJSON_CreateObject();
	if (pkg == NULL || !cJSON_AddItemToArray(packages, pkg)) {
		cJSON_Delete(pkg);
		return aero_error_set("out of memory");
	}
	char *source = NULL;
	if (s->source != NULL)
		source = strndup(s->source, strcspn(s->source, " ("));
	int rc = 0;
	if (aero_json_add_string(pkg, "name", s->package) < 0 ||
	    aero_json_add_string(pkg, "version", s->version) < 0 ||
	    aero_json_add_string(pkg, "architecture", s->architecture) < 0 ||
	    aero_json_add_string(pkg, "source", source != NULL ? source : s->package) < 0)
		rc = -1;
	else if (strcmp(state, "installed") != 0)
		rc = aero_json_add_string(pkg, "status", state);
	free(source);
	return rc;
}

/* Stores the value of a field this probe keeps; others are skipped. */
static int stanza_field(struct stanza *s, const char *line, size_t len)
{
	static const struct {
		const char *name;
		size_t offset;
	} kept[] = {{"Package:", offsetof(struct stanza, package)},
	            {"Version:", offsetof(struct stanza, version)},
	            {"Architecture:", offsetof(struct stanza, architecture)},
	            {"Source:", offsetof(struct stanza, source)},
	            {"Status:", offsetof(struct stanza, status)}};
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		const size_t n = strlen(kept[i].name);
		if (len < n || strncmp(line, kept[i].name, n) != 0)
			continue;
		char **slot = (char **)(void *)((char *)s + kept[i].offset);
		free(*slot);
		*slot = aero_line_value(line + n);
		return *slot != NULL ? 0 : -1;
	}
	return 0;
}

int aero_parse_dpkg_status(const char *text, cJSON *packages)
{
	struct stanza s = {0};
	int rc = 0;
	for (const char *line = text; rc == 0;) {
		const size_t len = strcspn(line, "\n");
		const bool blank = len == 0 || strspn(line, " \t\r") == len;
		if (blank) {
			rc = stanza_emit(&s, packages);
			stanza_clear(&s);
		} else if (line[0] != ' ' && line[0] != '\t') {
			rc = stanza_field(&s, line, len);
		}
		if (line[len] == '\0')
			break;
		line += len + 1;
	}
	if (rc == 0)
		rc = stanza_emit(&s, packages);
	stanza_clear(&s);
	return rc;
}

/* Distroless images keep one stanza per file under status.d/. */
static int read_status_dir(const struct aero_capture_ctx *ctx, cJSON *packages)
{
	char *dir_path = aero_root_path(ctx, "/var/lib/dpkg/status.d");
	DIR *dir = dir_path != NULL ? opendir(dir_path) : NULL;
	if (dir == NULL) {
		free(dir_path);
		return 1; /* none */
	}
	int rc = 0;
	const struct dirent *e;
	while (rc == 0 && (e = readdir(dir)) != NULL) {
		if (e->d_name[0] == '.' || strchr(e->d_name, '.') != NULL)
			continue; /* ., .., and *.md5sums */
		const size_t len = strlen(dir_path) + strlen(e->d_name) + 2;
		char *path = malloc(len);
		if (path == NULL) {
			rc = aero_error_set("out of memory");
			break;
		}
		(void)snprintf(path, len, "%s/%s", dir_path, e->d_name);
		char *text = aero_file_read(path, STATUS_MAX, NULL);
		free(path);
		if (text != NULL)
			rc = aero_parse_dpkg_status(text, packages);
		free(text);
	}
	closedir(dir);
	free(dir_path);
	return rc;
}

int aero_probe_dpkg(const struct aero_capture_ctx *ctx, cJSON *part)
{
	cJSON *packages = aero_json_add_array(part, "packages");
	if (packages == NULL)
		return -1;
	char *text = aero_root_read(ctx, "/var/lib/dpkg/status", STATUS_MAX, NULL);
	int rc;
	if (text != NULL) {
		rc = aero_parse_dpkg_status(text, packages);
		free(text);
		if (rc == 0)
			rc = aero_json_add_string(part, "database", "/var/lib/dpkg/status");
	} else {
		rc = read_status_dir(ctx, packages);
		if (rc == 1) {
			cJSON_DeleteItemFromObjectCaseSensitive(part, "packages");
			return aero_json_add_string(part, "absent", "no dpkg database");
		}
		if (rc == 0)
			rc = aero_json_add_string(part, "database", "/var/lib/dpkg/status.d");
	}
	if (rc == 0)
		rc = aero_json_sort_array(packages, "name", "architecture");
	if (rc == 0)
		rc = aero_json_add_number(part, "count", cJSON_GetArraySize(packages));
	return rc;
}
