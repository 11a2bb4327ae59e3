/* aero-init capture [--root DIR] [-o FILE] [--env NAME]...: the environment as
 * canonical JSON, on stdout or written atomically to FILE. */
#include "capture_cmd.h"

#include "canonjson.h"
#include "capture.h"
#include "error.h"
#include "log.h"
#include "options.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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

/* Writes text to path through a temporary file and rename, so readers never
 * see half a manifest. */
static int write_atomically(const char *path, const char *text)
{
	const size_t len = strlen(path) + 16;
	char *tmp = malloc(len);
	if (tmp == NULL)
		return aero_error_set("out of memory");
	(void)snprintf(tmp, len, "%s.tmp.%d", path, (int)getpid());
	const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = fd < 0 ? aero_error_set("cannot create %s: %s", tmp, strerror(errno)) : 0;
	for (size_t done = 0, total = strlen(text); rc == 0 && done < total;) {
		const ssize_t n = write(fd, text + done, total - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = aero_error_set("cannot write %s: %s", tmp, strerror(errno));
		else
			done += (size_t)n;
	}
	if (rc == 0 && fsync(fd) < 0)
		rc = aero_error_set("cannot write %s: %s", tmp, strerror(errno));
	if (fd >= 0 && close(fd) < 0 && rc == 0)
		rc = aero_error_set("cannot write %s: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) < 0)
		rc = aero_error_set("cannot rename %s to %s: %s", tmp, path, strerror(errno));
	if (rc < 0 && fd >= 0)
		(void)unlink(tmp);
	free(tmp);
	return rc;
}

/* Collects --env names and AERO_CAPTURE_ENV's list into a NULL-terminated array. */
static int add_env_name(char ***names, size_t *count, const char *name)
{
	char **bigger = realloc(*names, (*count + 2) * sizeof(**names));
	if (bigger == NULL)
		return aero_error_set("out of memory");
	*names = bigger;
	bigger[*count] = strdup(name);
	if (bigger[*count] == NULL)
		return aero_error_set("out of memory");
	bigger[++*count] = NULL;
	return 0;
}

static void free_names(char **names)
{
	for (char **n = names; n != NULL && *n != NULL; n++)
		free(*n);
	free(names);
}

static char *random_salt(void)
{
	unsigned char bytes[16];
	char *hex = malloc(33);
	if (hex == NULL || getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes)) {
		free(hex);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(bytes); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
	return hex;
}

int aero_capture_main(int argc, char **argv)
{
	static const struct option long_options[] = {{"root", required_argument, NULL, 'r'},
	                                             {"output", required_argument, NULL, 'o'},
	                                             {"env", required_argument, NULL, 'e'},
	                                             {"help", no_argument, NULL, 'h'},
	                                             {NULL, 0, NULL, 0}};
	const char *root = NULL, *output = NULL;
	char **names = NULL;
	size_t count = 0;
	int status = AERO_EXIT_INTERNAL;

	const char *list = getenv("AERO_CAPTURE_ENV");
	char *copy = list != NULL ? strdup(list) : NULL;
	char *save = NULL;
	for (char *n = copy != NULL ? strtok_r(copy, ",", &save) : NULL; n != NULL;
	     n = strtok_r(NULL, ",", &save))
		if (add_env_name(&names, &count, n) < 0)
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
			if (add_env_name(&names, &count, optarg) < 0)
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
			aero_error_set("unknown option '%s'", argv[optind - 1]);
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
	const char *salt_env = getenv("AERO_REDACT_SALT");
	char *salt = salt_env != NULL && *salt_env != '\0' ? strdup(salt_env) : random_salt();
	const bool live = root == NULL || strcmp(real_root, "/") == 0;
	const struct aero_capture_ctx ctx = {
	        .root = live ? "" : real_root,
	        .live = live,
	        .command = NULL,
	        .env_keep = (const char *const *)names,
	        .salt = salt != NULL ? salt : "",
	};
	cJSON *manifest = salt != NULL ? aero_capture(&ctx) : NULL;
	free(salt);
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
		if (write_atomically(output, text) == 0)
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
	free(copy);
	free_names(names);
	return status;
}
