#include "push_cmd.h"

#include "engine_push.h"
#include "error.h"
#include "image_ref.h"
#include "log.h"
#include "pushed.h"
#include "registry_auth.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

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

/* Pushes and records; the exit status. */
static int push(const char *image, const struct aero_image_ref *target)
{
	const char *tag = target->tag != NULL ? target->tag : "latest";
	if (image != NULL && aero_engine_tag(image, target->name, tag) < 0) {
		aero_log_error("push: %s", aero_error_last());
		return 1;
	}
	char *auth = aero_registry_auth(target->registry);
	if (auth == NULL) {
		aero_log_error("push: %s", aero_error_last());
		return 1;
	}
	char *digest = NULL;
	const int rc = aero_engine_push(target->name, tag, auth, &digest);
	free(auth);
	if (rc == AERO_PUSH_DENIED) {
		aero_log_error("push: %s refused %s:%s: %s; log in (docker login %s, or set "
		               "DOCKER_AUTH_CONFIG) and check that the repository is one you may "
		               "push to",
		               target->registry, target->name, tag, aero_error_last(),
		               target->registry);
		return AERO_PUSH_EXIT_DENIED;
	}
	if (rc < 0) {
		aero_log_error("push: %s:%s: %s", target->name, tag, aero_error_last());
		return 1;
	}
	printf("%s@%s\n", target->name, digest);
	const struct aero_pushed pushed = {
	        .repository = target->name, .tag = (char *)tag, .digest = digest};
	int status = 0;
	if (fflush(stdout) != 0) {
		aero_log_error("push: cannot write to standard output");
		status = 1;
	} else if (aero_pushed_save(&pushed) < 0) {
		aero_log_error("push: pushed, but %s; give 'aero-launch k8s job' --image %s@%s",
		               aero_error_last(), target->name, digest);
		status = 1;
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
			aero_log_error("push: %s '%s'; see 'aero-launch push --help'",
			               c == ':' ? "a value is needed for" : "unknown option",
			               argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		aero_log_error("push: %s; usage: aero-launch push [--image NAME[:TAG]] "
		               "REPOSITORY[:TAG]",
		               optind == argc ? "no repository given" : "one repository only");
		return EXIT_USAGE;
	}
	struct aero_image_ref target;
	if (aero_image_ref_parse(argv[optind], &target) < 0) {
		aero_log_error("push: %s", aero_error_last());
		return EXIT_USAGE;
	}
	if (target.digest != NULL) {
		aero_log_error("push: push to REPOSITORY[:TAG]; the registry gives the digest");
		aero_image_ref_clear(&target);
		return EXIT_USAGE;
	}
	const int status = push(image, &target);
	aero_image_ref_clear(&target);
	return status;
}
