/* The command lines of `artifact get` and `artifact put`, the same in
 * aero-init and aero-launch: options parsed here, the work done by
 * aero_artifact_get/put (artifact.h). */
#ifndef AERO_ARTIFACT_CLI_H
#define AERO_ARTIFACT_CLI_H

#include <stdio.h>

/* What differs between the two programs. */
struct aero_artifact_cli {
	const char *program; /* "aero-init", "aero-launch" */
	int usage_status;    /* for a command line it cannot act on */
	int internal_status; /* for out of memory, local I/O errors */
};

/* Runs `artifact get [OPTIONS] REF DIR` (argv[0] is "get"); the exit status. */
int aero_artifact_cli_get(const struct aero_artifact_cli *cli, int argc, char **argv);

/* Runs `artifact put [OPTIONS] NAME PATH...` (argv[0] is "put"); the exit status. */
int aero_artifact_cli_put(const struct aero_artifact_cli *cli, int argc, char **argv);

/* Writes the exit statuses shared by the artifact commands to out. */
void aero_artifact_cli_statuses(FILE *out);

#endif
