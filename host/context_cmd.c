/* `aero-launch context`: writes the tar that `run` sends to the engine, so
 * that what enters an image can be inspected (and tested) without an engine. */
#include "context_cmd.h"

#include "context.h"
#include "error.h"
#include "file.h"
#include "git.h"
#include "log.h"
#include "redact.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK ((size_t)256 * 1024)

static int stream(struct aero_context *ctx, int fd)
{
	char *buf = malloc(CHUNK);
	if (buf == NULL)
		return aero_error_set("out of memory");
	ssize_t n;
	while ((n = aero_context_read(ctx, buf, CHUNK)) > 0)
		if (aero_write_all(fd, buf, (size_t)n) < 0) {
			aero_error_set("cannot write the context: %s", strerror(errno));
			n = -1;
			break;
		}
	free(buf);
	return n < 0 ? -1 : 0;
}

static void context_usage(FILE *out)
{
	fputs("Usage: aero-launch context [-C DIR] [-o FILE]\n"
	      "\n"
	      "Writes the build context of HEAD (a tar of the committed tree, what 'run' sends\n"
	      "to the engine) to standard output or FILE.\n"
	      "\n"
	      "  -C, --repo DIR     the checkout (default: the current directory)\n"
	      "  -o, --output FILE  write to FILE instead of standard output\n"
	      "  -h, --help         print this help and exit\n",
	      out);
}

int aero_context_main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"repo", required_argument, NULL, 'C'},
	        {"output", required_argument, NULL, 'o'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *dir = ".";
	const char *output = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:C:o:h", longopts, NULL)) != -1) {
		if (c == 'C') {
			dir = optarg;
		} else if (c == 'o') {
			output = optarg;
		} else if (c == 'h') {
			context_usage(stdout);
			return 0;
		} else {
			aero_log_error("context: %s '%.*s'; see 'aero-launch context --help'",
			               c == ':' ? "a value is needed for" : "unknown option",
			               aero_arg_shown(argv[optind - 1]), argv[optind - 1]);
			return AERO_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		aero_log_error("context takes no arguments; see 'aero-launch context --help'");
		return AERO_EXIT_USAGE;
	}
	aero_git_init();
	git_repository *repo = NULL;
	git_oid head;
	int rc = aero_git_open(dir, &repo);
	if (rc == 0 && git_reference_name_to_id(&head, repo, "HEAD") != 0) {
		aero_error_set("HEAD has no commit yet: commit your code first");
		rc = -AERO_EXIT_UNBORN;
	}
	struct aero_context *ctx = NULL;
	if (rc == 0 && aero_context_new(repo, &head, &ctx) < 0)
		rc = -AERO_EXIT_INTERNAL;
	int fd = STDOUT_FILENO;
	if (rc == 0 && output != NULL) {
		fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			aero_error_set("cannot create '%s': %s", output, strerror(errno));
			rc = -AERO_EXIT_INTERNAL;
		}
	}
	if (rc == 0 && stream(ctx, fd) < 0)
		rc = -AERO_EXIT_INTERNAL;
	if (fd != STDOUT_FILENO && fd >= 0 && close(fd) != 0 && rc == 0) {
		aero_error_set("cannot write '%s': %s", output, strerror(errno));
		rc = -AERO_EXIT_INTERNAL;
	}
	if (rc < 0)
		aero_log_error("%s", aero_error_last());
	aero_context_free(ctx);
	git_repository_free(repo);
	return -rc;
}
