/* aero-init capture [--root DIR] [-o FILE] [--env NAME]...: the environment as
 * canonical JSON, on stdout or written atomically to FILE. */
#include "capture_cmd.h"

#include "canonjson.h"
#include "capture.h"
#include "error.h"
#include "files.h"
#include "log.h"
#include "options.h"
#include "redact.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fputs("Usage: aero-init capture [--root DIR] [-o FILE] [--env NAME]...\n"
	      "\n"
	      "Prints the run manifest of this environment (or of the root filesystem DIR)\n"
	      "as canonical JSON: OS, kernel, C library, CPU and its flags, memory, system\n"
	      "and Python packages, GPU driver and devices, allow-listed variables with\n"
	      "secrets redacted, and a fingerprint of it all. See doc/manifest.md.\n"
	      "\n"
	      "  -r, --root=DIR   capture the tree mounted at DIR instead of this system\n"
	      "  -o, --output=FILE  write to FILE (atomically) instead of stdout\n"
	      "  -e, --env=NAME   record variable NAME too (repeatable; env AERO_CAPTURE_ENV=A,B)\n"
	      "  -h, --help       print this help\n",
	      out);
}

int aero_capture_main(int argc, char **argv)
{
	static const struct option long_options[] = {{"root", required_argument, NULL, 'r'},
	                                             {"output", required_argument, NULL, 'o'},
	                                             {"env", required_argument, NULL, 'e'},
	                                             {"help", no_argument, NULL, 'h'},
	                                             {NULL, 0, NULL, 0}};
	const char *root = NULL, *output = NULL;
	struct aero_capture_setup setup;
	int status = AERO_EXIT_INTERNAL;
	if (aero_capture_setup_init(&setup) < 0)
		goto out;

	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+:r:o:e:h", long_options, NULL)) != -1) {
		switch (c) {
		case 'r':
			root = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'e':
			if (aero_capture_setup_add_env(&setup, optarg) < 0)
				goto out;
			break;
		case 'h':
			usage(stdout);
			status = 0;
			goto out;
		case ':':
			aero_error_set("option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			aero_error_set("unknown option '%.*s'", aero_arg_shown(argv[optind - 1]),
			               argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		aero_error_set("unexpected argument '%s'", argv[optind]);
		goto out;
	}

	char real_root[PATH_MAX];
	if (root != NULL && realpath(root, real_root) == NULL) {
		aero_error_set("--root %s: %s", root, strerror(errno));
		goto out;
	}
	const bool live = root == NULL || strcmp(real_root, "/") == 0;
	const struct aero_capture_ctx ctx = {
	        .root = live ? "" : real_root,
	        .live = live,
	        .command = NULL,
	        .env_keep = (const char *const *)setup.env_keep,
	        .salt = setup.salt,
	};
	cJSON *manifest = aero_capture(&ctx);
	char *text = manifest != NULL ? aero_json_canonical(manifest) : NULL;
	cJSON_Delete(manifest);
	if (text == NULL) {
		aero_error_set("out of memory while capturing");
		goto out;
	}
	if (output != NULL) {
		const size_t len = strlen(text);
		char *with_newline = realloc(text, len + 2);
		if (with_newline == NULL) {
			free(text);
			aero_error_set("out of memory");
			goto out;
		}
		text = with_newline;
		memcpy(text + len, "\n", 2);
		if (aero_file_write_atomic(output, text) == 0)
			status = 0;
	} else if (printf("%s\n", text) >= 0 && fflush(stdout) == 0) {
		status = 0;
	} else {
		aero_error_set("cannot write to stdout: %s", strerror(errno));
	}
	free(text);
out:
	if (status != 0)
		aero_log_error("capture: %s; see 'aero-init capture --help'", aero_error_last());
	aero_capture_setup_free(&setup);
	return status;
}
