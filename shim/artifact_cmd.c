/* aero-init artifact: get and put, with aero-init's statuses for usage and
 * internal errors (125, as for its other commands). */
#include "artifact_cmd.h"

#include "cli.h"
#include "log.h"
#include "options.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fputs("Usage: aero-init artifact get [--json] [--verify] [--store URL] REF DIR\n"
	      "       aero-init artifact put [--json] [--store URL] NAME PATH...\n"
	      "\n"
	      "Gets a version of an artifact from the blob store (AERO_STORE) into DIR, or\n"
	      "puts files there as the next version of NAME. 'aero-init artifact get --help'\n"
	      "and 'aero-init artifact put --help' say more; see aero-init(1).\n",
	      out);
	aero_artifact_cli_statuses(out);
	fputs("125: a command line aero-init cannot act on, or an internal error.\n", out);
}

int aero_artifact_main(int argc, char **argv)
{
	static const struct aero_artifact_cli cli = {
	        .program = "aero-init",
	        .usage_status = AERO_EXIT_INTERNAL,
	        .internal_status = AERO_EXIT_INTERNAL,
	};
	if (argc > 1 && strcmp(argv[1], "get") == 0)
		return aero_artifact_cli_get(&cli, argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "put") == 0)
		return aero_artifact_cli_put(&cli, argc - 1, argv + 1);
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc > 1)
		aero_log_error("unknown artifact command '%s'; see 'aero-init artifact --help'",
		               argv[1]);
	else
		usage(stderr);
	return AERO_EXIT_INTERNAL;
}
