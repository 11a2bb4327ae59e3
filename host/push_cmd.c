#include "push_cmd.h"

#include "engine_push.h"
#include "error.h"
#include "image_ref.h"
#include "log.h"
#include "pushed.h"
#include "redact.h"
#include "registry_auth.h"
#include "status.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void aero_push_cmd_usage(FILE *out)
{
	fputs("Usage: aero-launch push [--image NAME[:TAG]] REPOSITORY[:TAG]\n"
	      "\n"
	      "Pushes the image to the registry through the Docker engine, prints\n"
	      "REPOSITORY@sha256:DIGEST and records it for 'aero-launch k8s job'.\n"
	      "\n"
	      "  --image NAME[:TAG]     the local image to push as REPOSITORY:TAG (tagged so\n"
	      "                         first); default: REPOSITORY:TAG itself\n"
	      "  -v, --verbose          show the engine's progress\n",
	      out);
}

static const struct option options[] = {
        {"image", required_argument, NULL, 'i'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* True when image can go into a request's path as it is: the engine reads a
 * name there with its slashes unescaped, so what a URL would take for a query
 * or a fragment is refused instead. */
static bool is_image_name(const char *image)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                              "0123456789._-/:@";
	return image[0] != '\0' && strspn(image, allowed) == strlen(image);
}

/* Tags image as the target when it is given, then pushes the target; 0 with
 * *digest set, or a negative aero_launch_status with aero_error set. */
static int tag_and_push(const char *image, const struct aero_image_ref *target, const char *tag,
                        const char *auth, char **digest)
{
	struct aero_engine *eng = NULL;
	int rc = aero_engine_open(&eng);
	if (rc == 0 && image != NULL)
		rc = aero_image_tag(eng, image, target->name, tag);
	if (rc == 0)
		rc = aero_image_push(eng, target->name, tag, auth, digest);
	aero_engine_free(eng);
	return rc;
}

/* Pushes and records; the exit status. */
static int push(const char *image, const struct aero_image_ref *target)
{
	const char *tag = target->tag != NULL ? target->tag : "latest";
	/* Its failures are the configuration's (unreadable, not JSON, an entry that
	 * is not USER:PASSWORD), found before the engine is asked for anything; out
	 * of memory there is too unlikely to sort apart from them. */
	char *auth = aero_registry_auth(target->registry);
	if (auth == NULL) {
		aero_log_error("push: %s", aero_error_last());
		return AERO_EXIT_USAGE;
	}
	char *digest = NULL;
	const int rc = tag_and_push(image, target, tag, auth, &digest);
	free(auth);
	if (rc == -AERO_EXIT_DENIED) {
		aero_log_error("push: %s refused %s:%s: %s; log in (docker login %s, or set "
		               "DOCKER_AUTH_CONFIG) and check that the repository is one you may "
		               "push to",
		               target->registry, target->name, tag, aero_error_last(),
		               target->registry);
		return AERO_EXIT_DENIED;
	}
	if (rc < 0) {
		aero_log_error("push: %s:%s: %s", target->name, tag, aero_error_last());
		return -rc;
	}
	printf("%s@%s\n", target->name, digest);
	const struct aero_pushed pushed = {
	        .repository = target->name, .tag = (char *)tag, .digest = digest};
	int status = AERO_EXIT_OK;
	if (fflush(stdout) != 0) {
		aero_log_error("push: pushed, but cannot write to standard output");
		status = AERO_EXIT_INTERNAL;
	} else if (aero_pushed_save(&pushed) < 0) {
		aero_log_error("push: pushed, but %s; give 'aero-launch k8s job' --image %s@%s",
		               aero_error_last(), target->name, digest);
		status = AERO_EXIT_INTERNAL;
	}
	free(digest);
	return status;
}

int aero_push_cmd(int argc, char **argv)
{
	const char *image = NULL;
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+:i:vh", options, NULL)) != -1) {
		switch (c) {
		case 'i':
			image = optarg;
			break;
		case 'v':
			aero_log_init("aero-launch", AERO_LOG_INFO);
			break;
		case 'h':
			aero_push_cmd_usage(stdout);
			return 0;
		default:
			aero_log_error("push: %s '%.*s'; see 'aero-launch push --help'",
			               c == ':' ? "a value is needed for" : "unknown option",
			               aero_arg_shown(argv[optind - 1]), argv[optind - 1]);
			return AERO_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		aero_log_error("push: %s; usage: aero-launch push [--image NAME[:TAG]] "
		               "REPOSITORY[:TAG]",
		               optind == argc ? "no repository given" : "one repository only");
		return AERO_EXIT_USAGE;
	}
	if (image != NULL && !is_image_name(image)) {
		aero_log_error("push: --image '%s' is not an image's name or id (letters, digits, "
		               "'.', '_', '-', '/', ':' and '@')",
		               image);
		return AERO_EXIT_USAGE;
	}
	struct aero_image_ref target;
	if (aero_image_ref_parse(argv[optind], &target) < 0) {
		aero_log_error("push: %s", aero_error_last());
		return AERO_EXIT_USAGE;
	}
	if (target.digest != NULL) {
		aero_log_error("push: push to REPOSITORY[:TAG]; the registry gives the digest");
		aero_image_ref_clear(&target);
		return AERO_EXIT_USAGE;
	}
	const int status = push(image, &target);
	aero_image_ref_clear(&target);
	return status;
}
