/* aero-launch cache gc: evicts the least recently used objects of the local
 * artifact cache (lib/artifact/gc.h) until it fits a size. */
#include "cache_cmd.h"

#include "error.h"
#include "gc.h"
#include "log.h"
#include "progress.h"
#include "runsdir.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fputs("Usage: aero-launch cache gc --max-size SIZE [--json]\n"
	      "\n"
	      "Removes the least recently used objects of the artifact cache (AERO_CACHE_DIR,\n"
	      "else ~/.cache/aeromancy) until its objects take at most SIZE (bytes, or with\n"
	      "K, M, G or T: 500M, 20G). Objects still hardlinked from a directory an\n"
	      "artifact was got into are kept (removing them would free nothing) and counted.\n"
	      "Partial downloads abandoned for a day are removed too.\n"
	      "  --max-size SIZE  the size to fit\n"
	      "  --json           print the report as JSON\n"
	      "Exit status: 0, 2 usage, 74 the cache cannot be read or changed.\n",
	      out);
}

static void say(const struct aero_cache_gc_report *r, const char *cache, uint64_t max)
{
	char before[AERO_SIZE_TEXT_MAX], removed[AERO_SIZE_TEXT_MAX], after[AERO_SIZE_TEXT_MAX],
	        linked[AERO_SIZE_TEXT_MAX], limit[AERO_SIZE_TEXT_MAX];
	aero_progress_size(r->bytes, before);
	aero_progress_size(r->removed_bytes, removed);
	aero_progress_size(r->bytes - r->removed_bytes, after);
	aero_progress_size(r->linked_bytes, linked);
	aero_progress_size(max, limit);
	printf("%s: %" PRIu64 " objects (%s); removed %" PRIu64 " (%s), least recently used "
	       "first; now %s\n",
	       cache, r->objects, before, r->removed_objects, removed, after);
	if (r->linked_objects > 0)
		printf("kept %" PRIu64 " objects (%s) still linked from directories artifacts were "
		       "got into: removing them would free nothing\n",
		       r->linked_objects, linked);
	if (r->partials_removed > 0)
		printf("removed %" PRIu64 " abandoned partial downloads\n", r->partials_removed);
	if (r->bytes - r->removed_bytes > max)
		printf("the cache is still larger than %s: remove directories got from it to let "
		       "its objects go\n",
		       limit);
}

static int print_json(const struct aero_cache_gc_report *r, const char *cache)
{
	cJSON *o = cJSON_CreateObject();
	if (o == NULL || cJSON_AddStringToObject(o, "cache", cache) == NULL ||
	    cJSON_AddNumberToObject(o, "objects", (double)r->objects) == NULL ||
	    cJSON_AddNumberToObject(o, "bytes", (double)r->bytes) == NULL ||
	    cJSON_AddNumberToObject(o, "removed_objects", (double)r->removed_objects) == NULL ||
	    cJSON_AddNumberToObject(o, "removed_bytes", (double)r->removed_bytes) == NULL ||
	    cJSON_AddNumberToObject(o, "linked_objects", (double)r->linked_objects) == NULL ||
	    cJSON_AddNumberToObject(o, "linked_bytes", (double)r->linked_bytes) == NULL ||
	    cJSON_AddNumberToObject(o, "partials_removed", (double)r->partials_removed) == NULL) {
		cJSON_Delete(o);
		aero_log_error("out of memory");
		return AERO_EXIT_INTERNAL;
	}
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (text == NULL) {
		aero_log_error("out of memory");
		return AERO_EXIT_INTERNAL;
	}
	puts(text);
	free(text);
	return 0;
}

static int gc_main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"max-size", required_argument, NULL, 'm'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *max_text = NULL;
	bool json = false;
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		if (c == 'm') {
			max_text = optarg;
		} else if (c == 'j') {
			json = true;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return AERO_EXIT_USAGE;
		}
	}
	uint64_t max = 0;
	if (max_text == NULL || optind != argc) {
		usage(stderr);
		return AERO_EXIT_USAGE;
	}
	if (aero_size_parse(max_text, &max) < 0) {
		aero_log_error("--max-size: %s", aero_error_last());
		return AERO_EXIT_USAGE;
	}
	char *cache = aero_cache_dir();
	struct aero_cache_gc_report r;
	int status = 0;
	if (cache == NULL) {
		aero_log_error("out of memory");
		status = AERO_EXIT_INTERNAL;
	} else if (aero_cache_gc(cache, max, &r) < 0) {
		aero_log_error("%s", aero_error_last());
		status = AERO_EXIT_INTERNAL;
	} else if (json) {
		status = print_json(&r, cache);
	} else {
		say(&r, cache, max);
	}
	free(cache);
	return status;
}

int aero_cache_cmd(int argc, char **argv)
{
	aero_log_init("aero-launch cache", AERO_LOG_WARN);
	if (argc > 1 && strcmp(argv[1], "gc") == 0)
		return gc_main(argc - 1, argv + 1);
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc > 1)
		aero_log_error("unknown cache command '%s'; see 'aero-launch cache --help'",
		               argv[1]);
	else
		usage(stderr);
	return AERO_EXIT_USAGE;
}
