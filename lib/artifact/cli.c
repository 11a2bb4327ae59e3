/* artifact get / artifact put: options, then the work, then the result line. */
#include "cli.h"

#include "artifact.h"
#include "digest.h"
#include "error.h"
#include "log.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct options {
	bool json, quiet, verify, help;
	int verbosity;
	const char *store;
};

static void usage_get(const struct aero_artifact_cli *cli, FILE *out)
{
	fprintf(out,
	        "Usage: %s artifact get [--json] [--verify] [--store URL] [-q] [-v] REF DIR\n"
	        "\n"
	        "Gets a version of an artifact into DIR (made if missing) through the local\n"
	        "cache, read-only, hardlinked or reflinked from the cache where it can.\n"
	        "REF is NAME or NAME:latest (the newest version), NAME:vN or NAME:N, or\n"
	        "NAME@sha256:DIGEST (the version with that manifest digest).\n"
	        "AERO_ARTIFACT_OVERRIDES=\"NAME=v3,OTHER=sha256:...\" replaces the version asked\n"
	        "for a name. Files already in DIR with other content are never replaced.\n"
	        "  --json       print the result as one JSON line on stdout\n"
	        "  --verify     hash every cached object used (else the stat records are trusted)\n"
	        "  --store URL  the store (default: AERO_STORE, else\n"
	        "               file://~/.local/share/aeromancy/store)\n"
	        "  -q, --quiet  no progress line, no summary\n"
	        "  -v           say more\n",
	        cli->program);
	aero_artifact_cli_statuses(out);
}

static void usage_put(const struct aero_artifact_cli *cli, FILE *out)
{
	fprintf(out,
	        "Usage: %s artifact put [--json] [--store URL] [-q] [-v] NAME PATH...\n"
	        "\n"
	        "Puts the files of PATHs into the store as the next version of NAME: a\n"
	        "directory gives its contents, a file itself. Only objects the store lacks are\n"
	        "sent; when the newest version already has the same files, it is the result\n"
	        "(\"unchanged\"). NAME has letters, digits, '.', '_' and '-' (at most 128).\n"
	        "  --json       print the result as one JSON line on stdout\n"
	        "  --store URL  the store (default: AERO_STORE, else\n"
	        "               file://~/.local/share/aeromancy/store)\n"
	        "  -q, --quiet  no progress line, no summary\n"
	        "  -v           say more\n",
	        cli->program);
	aero_artifact_cli_statuses(out);
}

void aero_artifact_cli_statuses(FILE *out)
{
	fputs("Exit status: 0 done, 76 no such name or version, 77 a bad reference or name, an\n"
	      "unsafe path or a file in DIR in the way, 78 bytes that do not match their digest,\n"
	      "79 the store denied access (credentials), 80 the store failed or is unreachable.\n"
	      "With AERO_RUN_DIR set, each transfer is added to $AERO_RUN_DIR/artifacts.jsonl,\n"
	      "and each put's digest written to $AERO_RUN_DIR/outputs/NAME.\n",
	      out);
}

/* Parses the options; the index of the first operand, or -1 after usage. */
static int parse(int argc, char **argv, bool get, struct options *o)
{
	static const struct option options[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"verify", no_argument, NULL, 'V'},
	        {"store", required_argument, NULL, 's'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	o->verbosity = AERO_LOG_WARN;
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "qvh", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'V':
			if (!get)
				return -1;
			o->verify = true;
			break;
		case 's':
			o->store = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'v':
			o->verbosity++;
			break;
		case 'h':
			o->help = true;
			return optind;
		default:
			return -1;
		}
	}
	return optind;
}

/* Prints and records the result; the exit status. */
static int finish(const struct aero_artifact_cli *cli, const struct options *o,
                  const struct aero_artifact_result *r, const char *dir)
{
	uint64_t hashed = 0;
	double seconds = 0;
	aero_digest_totals(&hashed, &seconds);
	aero_log_debug("hashed %llu bytes in %.3f CPU seconds (%.0f MB/s)",
	               (unsigned long long)hashed, seconds,
	               seconds > 0 ? (double)hashed / seconds / 1e6 : 0.0);
	char *line = aero_artifact_result_json(r, dir);
	if (line == NULL) {
		aero_log_error("out of memory");
		return cli->internal_status;
	}
	if (!o->quiet)
		aero_artifact_result_say(r, dir);
	if (o->json && (puts(line) < 0 || fflush(stdout) != 0)) {
		aero_log_error("cannot write the result to stdout");
		free(line);
		return cli->internal_status;
	}
	const int rc = aero_artifact_journal_append(line);
	free(line);
	if (rc < 0) {
		aero_log_error("%s", aero_error_last());
		return cli->internal_status;
	}
	return 0;
}

static void set_logging(const struct aero_artifact_cli *cli, const char *command,
                        const struct options *o)
{
	/* The log keeps the pointer: the name must outlive this call. */
	static char program[64];
	(void)snprintf(program, sizeof(program), "%s artifact %s", cli->program, command);
	aero_log_init(program, o->quiet ? AERO_LOG_ERROR : o->verbosity);
}

int aero_artifact_cli_get(const struct aero_artifact_cli *cli, int argc, char **argv)
{
	struct options o;
	const int first = parse(argc, argv, true, &o);
	if (first >= 0 && o.help) {
		usage_get(cli, stdout);
		return 0;
	}
	if (first < 0 || argc - first != 2) {
		usage_get(cli, stderr);
		return cli->usage_status;
	}
	set_logging(cli, "get", &o);
	const struct aero_artifact_get_request req = {.store_url = o.store,
	                                              .ref = argv[first],
	                                              .dir = argv[first + 1],
	                                              .verify = o.verify,
	                                              .progress = !o.quiet};
	struct aero_artifact_result r;
	const int rc = aero_artifact_get(&req, &r);
	if (rc != 0) {
		aero_log_error("%s", aero_error_last());
		return aero_artifact_exit_status(rc, cli->internal_status);
	}
	return finish(cli, &o, &r, req.dir);
}

int aero_artifact_cli_put(const struct aero_artifact_cli *cli, int argc, char **argv)
{
	struct options o;
	const int first = parse(argc, argv, false, &o);
	if (first >= 0 && o.help) {
		usage_put(cli, stdout);
		return 0;
	}
	if (first < 0 || argc - first < 2) {
		usage_put(cli, stderr);
		return cli->usage_status;
	}
	set_logging(cli, "put", &o);
	const struct aero_artifact_put_request req = {.store_url = o.store,
	                                              .name = argv[first],
	                                              .paths =
	                                                      (const char *const *)argv + first + 1,
	                                              .path_count = (size_t)(argc - first - 1),
	                                              .progress = !o.quiet};
	struct aero_artifact_result r;
	const int rc = aero_artifact_put(&req, &r);
	if (rc != 0) {
		aero_log_error("%s", aero_error_last());
		return aero_artifact_exit_status(rc, cli->internal_status);
	}
	return finish(cli, &o, &r, NULL);
}
