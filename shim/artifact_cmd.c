/* aero-init artifact: get and put, with aero-init's statuses for usage and
 * internal errors (125, as for its other commands). */
#include "artifact_cmd.h"

#include "artifact_remote.h"
#include "cli.h"
#include "error.h"
#include "log.h"
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
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

/* Whether the request goes to the aero-init of the run, which does the
 * transfer outside the experiment (doc/channel.md): inside a run, and not
 * merely asking for help. */
static const char *remote_socket(int argc, char **argv)
{
	const char *socket_path = getenv("AERO_SOCKET");
	if (socket_path == NULL || socket_path[0] == '\0' || argc < 2 ||
	    (strcmp(argv[1], "get") != 0 && strcmp(argv[1], "put") != 0))
		return NULL;
	for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return NULL;
	return socket_path;
}

int aero_artifact_main(int argc, char **argv)
{
	const char *socket_path = remote_socket(argc, argv);
	if (socket_path != NULL)
		return aero_artifact_remote(socket_path, argc - 1, argv + 1);
	/* A worker of the run's aero-init acts as the process that asked. */
	if (aero_artifact_become_client() < 0) {
		aero_log_error("artifact: %s", aero_error_last());
		return AERO_EXIT_INTERNAL;
	}
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
