/* aero-launch artifact: ls and show read the store's names and versions;
 * get and put are the same commands as aero-init's (lib/artifact/cli.c). */
#include "artifact_cmd.h"

#include "artifact.h"
#include "cli.h"
#include "error.h"
#include "log.h"
#include "progress.h"
#include "status.h"
#include "versions.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct aero_artifact_cli cli = {
        .program = "aero-launch",
        .usage_status = AERO_EXIT_USAGE,
        .internal_status = AERO_EXIT_INTERNAL,
};

static void usage(FILE *out)
{
	fputs("Usage: aero-launch artifact ls [--json] [--store URL] [NAME]\n"
	      "       aero-launch artifact show [--json] [--store URL] REF\n"
	      "       aero-launch artifact get [--json] [--verify] [--store URL] REF DIR\n"
	      "       aero-launch artifact put [--json] [--store URL] NAME PATH...\n"
	      "\n"
	      "The versioned artifacts in the blob store (AERO_STORE, else\n"
	      "file://~/.local/share/aeromancy/store). 'ls' lists the names with their newest\n"
	      "version, or NAME's versions; 'show' prints a version's record and files; 'get'\n"
	      "and 'put' move them (see 'aero-launch artifact get --help').\n"
	      "REF is NAME, NAME:latest, NAME:vN, NAME:N or NAME@sha256:DIGEST.\n"
	      "  --json       print JSON instead of text\n"
	      "  --store URL  the store\n",
	      out);
	aero_artifact_cli_statuses(out);
	fputs("2: a command line aero-launch cannot act on; 74: an internal error.\n", out);
}

struct options {
	bool json;
	const char *store;
};

/* The options of ls and show; the index of the first operand, or -1. */
static int parse(int argc, char **argv, struct options *o)
{
	static const struct option options[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"store", required_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == 'j')
			o->json = true;
		else if (c == 's')
			o->store = optarg;
		else if (c == 'h')
			return usage(stdout), -2;
		else
			return -1;
	}
	return optind;
}

static int fail(int status)
{
	aero_log_error("%s", aero_error_last());
	return aero_artifact_exit_status(status, AERO_EXIT_INTERNAL);
}

static const char *string_at(const cJSON *json, const char *a, const char *b)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(json, a);
	if (b != NULL)
		item = cJSON_GetObjectItemCaseSensitive(item, b);
	return cJSON_IsString(item) ? item->valuestring : "-";
}

static int print_json(cJSON *json)
{
	char *text = json != NULL ? cJSON_Print(json) : NULL;
	cJSON_Delete(json);
	if (text == NULL) {
		aero_log_error("out of memory");
		return AERO_EXIT_INTERNAL;
	}
	puts(text);
	free(text);
	return 0;
}

/* One row (text) or object (JSON) of a listing. */
static int list_row(cJSON *rows, const struct aero_artifact_version *v, bool names)
{
	char size[AERO_SIZE_TEXT_MAX];
	aero_progress_size(v->size, size);
	const char *created = string_at(v->json, "created", NULL);
	const char *run = string_at(v->json, "lineage", "run");
	if (rows == NULL) {
		if (names)
			printf("%-32s v%-7" PRIu64 " %8" PRIu64 " %10s  %s\n", v->name, v->version,
			       v->files, size, created);
		else
			printf("v%-7" PRIu64 " sha256:%.12s %8" PRIu64 " %10s  %-24s  %s\n",
			       v->version, v->manifest, v->files, size, created, run);
		return 0;
	}
	char digest[72];
	(void)snprintf(digest, sizeof(digest), "sha256:%s", v->manifest);
	cJSON *row = cJSON_CreateObject();
	if (row == NULL || (names && cJSON_AddStringToObject(row, "name", v->name) == NULL) ||
	    cJSON_AddNumberToObject(row, names ? "latest" : "version", (double)v->version) ==
	            NULL ||
	    cJSON_AddStringToObject(row, "digest", digest) == NULL ||
	    cJSON_AddNumberToObject(row, "files", (double)v->files) == NULL ||
	    cJSON_AddNumberToObject(row, "size", (double)v->size) == NULL ||
	    cJSON_AddStringToObject(row, "created", created) == NULL ||
	    (!names && cJSON_AddStringToObject(row, "run", run) == NULL) ||
	    !cJSON_AddItemToArray(rows, row)) {
		cJSON_Delete(row);
		return aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
	}
	return 0;
}

struct names {
	char **names;
	uint64_t *latest;
	size_t count, cap;
};

static int collect_name(void *ctx, const char *name, uint64_t latest)
{
	struct names *n = ctx;
	if (n->count == n->cap) {
		const size_t cap = n->cap == 0 ? 16 : n->cap * 2;
		char **names = realloc(n->names, cap * sizeof(*names));
		if (names != NULL)
			n->names = names;
		uint64_t *versions = realloc(n->latest, cap * sizeof(*versions));
		if (versions != NULL)
			n->latest = versions;
		if (names == NULL || versions == NULL)
			return aero_artifact_fail(1, "out of memory");
		n->cap = cap;
	}
	if ((n->names[n->count] = strdup(name)) == NULL)
		return aero_artifact_fail(1, "out of memory");
	n->latest[n->count++] = latest;
	return 0;
}

static int ls_names(struct aero_store *store, cJSON *rows)
{
	struct names n = {0};
	int rc = aero_artifact_names_list(store, collect_name, &n);
	if (rc > 0)
		rc = AERO_ARTIFACT_INTERNAL;
	if (rc == 0 && rows == NULL && n.count > 0)
		printf("%-32s %-8s %8s %10s  %s\n", "NAME", "LATEST", "FILES", "SIZE", "CREATED");
	for (size_t i = 0; rc == 0 && i < n.count; i++) {
		struct aero_artifact_version v;
		rc = aero_artifact_version_fetch(store, n.names[i], n.latest[i], &v);
		if (rc == 0)
			rc = list_row(rows, &v, true);
		aero_artifact_version_free(&v);
	}
	for (size_t i = 0; i < n.count; i++)
		free(n.names[i]);
	free(n.names);
	free(n.latest);
	return rc;
}

static int ls_versions(struct aero_store *store, const char *name, cJSON *rows)
{
	if (aero_artifact_name_check(name) < 0)
		return AERO_ARTIFACT_BAD_INPUT;
	uint64_t *versions = NULL;
	size_t count = 0;
	int rc = aero_artifact_versions_list(store, name, &versions, &count);
	if (rc == 0 && count == 0)
		rc = aero_artifact_fail(
		        AERO_ARTIFACT_UNKNOWN,
		        "no artifact named '%s' in %s; 'aero-launch artifact ls' lists "
		        "the names there",
		        name, aero_store_url(store));
	if (rc == 0 && rows == NULL)
		printf("%-8s %-19s %8s %10s  %-24s  %s\n", "VERSION", "DIGEST", "FILES", "SIZE",
		       "CREATED", "RUN");
	for (size_t i = count; rc == 0 && i-- > 0;) {
		struct aero_artifact_version v;
		rc = aero_artifact_version_fetch(store, name, versions[i], &v);
		if (rc == 0)
			rc = list_row(rows, &v, false);
		aero_artifact_version_free(&v);
	}
	free(versions);
	return rc;
}

static int ls_main(int argc, char **argv)
{
	struct options o;
	const int first = parse(argc, argv, &o);
	if (first == -2)
		return 0;
	if (first < 0 || argc - first > 1) {
		usage(stderr);
		return AERO_EXIT_USAGE;
	}
	char *url = NULL;
	struct aero_store *store = NULL;
	int rc = aero_artifact_store_open(o.store, &url, &store);
	cJSON *rows = o.json ? cJSON_CreateArray() : NULL;
	if (rc == 0 && o.json && rows == NULL)
		rc = aero_artifact_fail(AERO_ARTIFACT_INTERNAL, "out of memory");
	if (rc == 0)
		rc = argc - first == 1 ? ls_versions(store, argv[first], rows)
		                       : ls_names(store, rows);
	aero_store_close(store);
	free(url);
	if (rc != 0) {
		cJSON_Delete(rows);
		return fail(rc);
	}
	return o.json ? print_json(rows) : 0;
}

static void show_text(const struct aero_artifact_version *v, const struct aero_artifact_manifest *m)
{
	char size[AERO_SIZE_TEXT_MAX];
	aero_progress_size(v->size, size);
	printf("name:     %s\nversion:  %" PRIu64 "\ndigest:   sha256:%s\nfiles:    %" PRIu64
	       "\nsize:     %s (%" PRIu64 " bytes)\ncreated:  %s\nrun:      %s\ncommit:   %s\n"
	       "image:    %s\n",
	       v->name, v->version, v->manifest, v->files, size, v->size,
	       string_at(v->json, "created", NULL), string_at(v->json, "lineage", "run"),
	       string_at(v->json, "lineage", "git_commit"),
	       string_at(v->json, "lineage", "image_id"));
	const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(v->json, "lineage"), "inputs");
	const cJSON *in;
	cJSON_ArrayForEach(in, inputs)
	{
		const cJSON *version = cJSON_GetObjectItemCaseSensitive(in, "version");
		printf("input:    %s:v%.0f (%s)\n", string_at(in, "name", NULL),
		       cJSON_IsNumber(version) ? version->valuedouble : 0.0,
		       string_at(in, "digest", NULL));
	}
	printf("\n%-4s %10s  %-12s  %s\n", "MODE", "SIZE", "SHA256", "PATH");
	for (size_t i = 0; i < m->count; i++) {
		aero_progress_size(m->files[i].size, size);
		printf("%-4s %10s  %.12s  %s\n", m->files[i].exec ? "0755" : "0644", size,
		       m->files[i].sha256, m->files[i].path);
	}
}

static cJSON *show_json(const struct aero_artifact_version *v,
                        const struct aero_artifact_manifest *m)
{
	cJSON *out = cJSON_CreateObject();
	cJSON *record = cJSON_Duplicate(v->json, 1);
	cJSON *files = cJSON_CreateArray();
	if (out == NULL || record == NULL || files == NULL ||
	    !cJSON_AddItemToObject(out, "record", record)) {
		cJSON_Delete(record);
		cJSON_Delete(files);
		cJSON_Delete(out);
		return NULL;
	}
	if (!cJSON_AddItemToObject(out, "files", files)) {
		cJSON_Delete(files);
		cJSON_Delete(out);
		return NULL;
	}
	for (size_t i = 0; i < m->count; i++) {
		cJSON *f = cJSON_CreateObject();
		if (f == NULL || cJSON_AddStringToObject(f, "path", m->files[i].path) == NULL ||
		    cJSON_AddStringToObject(f, "sha256", m->files[i].sha256) == NULL ||
		    cJSON_AddNumberToObject(f, "size", (double)m->files[i].size) == NULL ||
		    cJSON_AddStringToObject(f, "mode", m->files[i].exec ? "0755" : "0644") ==
		            NULL ||
		    !cJSON_AddItemToArray(files, f)) {
			cJSON_Delete(f);
			cJSON_Delete(out);
			return NULL;
		}
	}
	return out;
}

static int show_main(int argc, char **argv)
{
	struct options o;
	const int first = parse(argc, argv, &o);
	if (first == -2)
		return 0;
	if (first < 0 || argc - first != 1) {
		usage(stderr);
		return AERO_EXIT_USAGE;
	}
	struct aero_artifact_ref ref;
	if (aero_artifact_ref_parse(argv[first], &ref) < 0)
		return fail(AERO_ARTIFACT_BAD_INPUT);
	char *url = NULL;
	struct aero_store *store = NULL;
	struct aero_artifact_version v = {.version = 0};
	struct aero_artifact_manifest m = {0};
	int rc = aero_artifact_store_open(o.store, &url, &store);
	if (rc == 0)
		rc = aero_artifact_resolve(store, &ref, &v);
	if (rc == 0)
		rc = aero_artifact_manifest_fetch(store, &v, &m);
	int status = 0;
	if (rc != 0)
		status = fail(rc);
	else if (o.json)
		status = print_json(show_json(&v, &m));
	else
		show_text(&v, &m);
	aero_artifact_manifest_free(&m);
	aero_artifact_version_free(&v);
	aero_store_close(store);
	free(url);
	return status;
}

int aero_artifact_cmd(int argc, char **argv)
{
	aero_log_init("aero-launch artifact", AERO_LOG_WARN);
	const char *sub = argc > 1 ? argv[1] : "";
	if (strcmp(sub, "ls") == 0)
		return ls_main(argc - 1, argv + 1);
	if (strcmp(sub, "show") == 0)
		return show_main(argc - 1, argv + 1);
	if (strcmp(sub, "get") == 0)
		return aero_artifact_cli_get(&cli, argc - 1, argv + 1);
	if (strcmp(sub, "put") == 0)
		return aero_artifact_cli_put(&cli, argc - 1, argv + 1);
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (sub[0] != '\0')
		aero_log_error("unknown artifact command '%s'; see 'aero-launch artifact --help'",
		               sub);
	else
		usage(stderr);
	return AERO_EXIT_USAGE;
}
