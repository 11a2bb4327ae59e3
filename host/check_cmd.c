/* `aero-launch check`: the Git checks of a tracked run, without the run. */
#include "check_cmd.h"

#include "error.h"
#include "log.h"
#include "pristine.h"
#include "redact.h"
#include "status.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Paths listed in a refusal; the count says how many more there are. */
#define REFUSAL_PATHS_SHOWN 100

int aero_check_repository(const char *dir, bool allow_unpushed, git_repository **repo,
                          struct aero_git_facts *facts)
{
	memset(facts, 0, sizeof(*facts));
	aero_git_init();
	int rc = aero_git_open(dir, repo);
	if (rc == 0)
		rc = aero_git_facts_read(*repo, facts);
	if (rc < 0) {
		aero_log_error("%s", aero_error_last());
		goto fail;
	}
	struct aero_dirty_list dirty;
	rc = aero_pristine_check(*repo, &dirty);
	if (rc < 0) {
		aero_log_error("%s", aero_error_last());
		goto fail;
	}
	if (dirty.count > 0) {
		aero_dirty_list_report(&dirty, REFUSAL_PATHS_SHOWN);
		aero_dirty_list_free(&dirty);
		rc = -AERO_EXIT_DIRTY;
		goto fail;
	}
	aero_dirty_list_free(&dirty);
	if (!facts->pushed && !allow_unpushed) {
		if (facts->detached)
			aero_log_error(
			        "refusing to run: HEAD (detached at %s) is on no remote-tracking "
			        "branch, so nobody else can get this commit: push it, or pass "
			        "--allow-unpushed",
			        facts->short_commit);
		else if (facts->upstream == NULL)
			aero_log_error(
			        "refusing to run: branch '%s' has no upstream, so nobody else "
			        "can get commit %s: push it ('git push -u origin %s'), or pass "
			        "--allow-unpushed",
			        facts->branch, facts->short_commit, facts->branch);
		else
			aero_log_error("refusing to run: commit %s is not pushed to '%s': run 'git "
			               "push', or pass --allow-unpushed",
			               facts->short_commit, facts->upstream);
		rc = -AERO_EXIT_UNPUSHED;
		goto fail;
	}
	return 0;
fail:
	aero_git_facts_free(facts);
	git_repository_free(*repo);
	*repo = NULL;
	return rc;
}

static int add_string_or_null(cJSON *obj, const char *key, const char *value)
{
	const cJSON *item = value != NULL ? cJSON_AddStringToObject(obj, key, value)
	                                  : cJSON_AddNullToObject(obj, key);
	return item != NULL ? 0 : -1;
}

cJSON *aero_git_facts_json(const struct aero_git_facts *facts)
{
	cJSON *obj = cJSON_CreateObject();
	if (obj == NULL || add_string_or_null(obj, "commit", facts->commit) < 0 ||
	    add_string_or_null(obj, "short_commit", facts->short_commit) < 0 ||
	    add_string_or_null(obj, "branch", facts->branch) < 0 ||
	    cJSON_AddBoolToObject(obj, "detached", facts->detached) == NULL ||
	    add_string_or_null(obj, "upstream", facts->upstream) < 0 ||
	    add_string_or_null(obj, "remote", facts->remote) < 0 ||
	    add_string_or_null(obj, "remote_url", facts->remote_url) < 0 ||
	    add_string_or_null(obj, "message", facts->message) < 0 ||
	    cJSON_AddBoolToObject(obj, "pushed", facts->pushed) == NULL ||
	    add_string_or_null(obj, "workdir", facts->workdir) < 0) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

static void check_usage(FILE *out)
{
	fputs("Usage: aero-launch check [--allow-unpushed] [-v] [-C DIR]\n"
	      "\n"
	      "Makes the Git checks of a tracked run and prints the commit's facts as JSON.\n"
	      "\n"
	      "  -C, --repo DIR        the checkout to check (default: the current directory)\n"
	      "      --allow-unpushed  accept a commit that is not on its upstream\n"
	      "  -v, --verbose         say how the pristine check reached its answer\n"
	      "  -h, --help            print this help and exit\n",
	      out);
}

int aero_check_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"repo", required_argument, NULL, 'C'},
	        {"allow-unpushed", no_argument, NULL, 'u'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *dir = ".";
	bool allow_unpushed = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:C:hv", longopts, NULL)) != -1) {
		if (c == 'C') {
			dir = optarg;
		} else if (c == 'u') {
			allow_unpushed = true;
		} else if (c == 'v') {
			aero_log_init("aero-launch", AERO_LOG_INFO);
		} else if (c == 'h') {
			check_usage(stdout);
			return 0;
		} else {
			aero_log_error("check: %s '%.*s'; see 'aero-launch check --help'",
			               c == ':' ? "a value is needed for" : "unknown option",
			               aero_arg_shown(argv[optind - 1]), argv[optind - 1]);
			return AERO_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		aero_log_error("check takes no arguments; see 'aero-launch check --help'");
		return AERO_EXIT_USAGE;
	}
	git_repository *repo = NULL;
	struct aero_git_facts facts;
	const int rc = aero_check_repository(dir, allow_unpushed, &repo, &facts);
	if (rc < 0)
		return -rc;
	cJSON *json = aero_git_facts_json(&facts);
	char *text = json != NULL ? cJSON_PrintUnformatted(json) : NULL;
	cJSON_Delete(json);
	aero_git_facts_free(&facts);
	git_repository_free(repo);
	if (text == NULL) {
		aero_log_error("out of memory");
		return AERO_EXIT_INTERNAL;
	}
	printf("%s\n", text);
	free(text);
	return fflush(stdout) == 0 ? 0 : AERO_EXIT_INTERNAL;
}
