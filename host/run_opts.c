/* `aero-launch run`'s options, one table. */
#include "run_opts.h"

#include "gc.h"
#include "log.h"
#include "parse.h"
#include "redact.h"
#include "runsdir.h"
#include "status.h"

#include <ctype.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void run_usage(FILE *out)
{
	fputs("Usage: aero-launch run [OPTIONS] -- COMMAND [ARGS...]\n"
	      "       aero-launch run [OPTIONS] --build-only\n"
	      "\n"
	      "Checks that the Git checkout is pristine, builds its image from the commit, runs\n"
	      "COMMAND in a container whose PID 1 is aero-init, and exits with its status.\n"
	      "\n"
	      "  -C, --repo DIR          the checkout (default: the current directory)\n"
	      "      --allow-unpushed    run a commit that is not on its upstream\n"
	      "      --dev               no Git checks, no container: run under aero-init here\n"
	      "      --image NAME        the image's name (default: the checkout's directory)\n"
	      "  -f, --file PATH         the Dockerfile, in the commit (default: Dockerfile)\n"
	      "      --image-id ID       run this image (an id or a name) instead of building\n"
	      "                          one; the Git checks stay\n"
	      "      --run-id ID         the run's id (default: drawn, sorting by time)\n"
	      "      --gpus all|N        ask the engine for all GPUs or N of them\n"
	      "      --cpus N            at most N CPUs (such as 1.5)\n"
	      "      --memory SIZE       at most SIZE of memory (bytes, or with k, m, g)\n"
	      "      --shm-size SIZE     /dev/shm's size (bytes, or with k, m, g)\n"
	      "      --network MODE      the container's network (default: the engine's)\n"
	      "      --build-network MODE  the network of the build's RUN steps, such as\n"
	      "                          host (default: the engine's)\n"
	      "  -e, --env NAME[=VALUE]  set a variable; NAME alone passes the host's value\n"
	      "      --mount HOST:PATH[:ro]  bind-mount a host directory\n"
	      "      --seed N            the base seed (AERO_SEED)\n"
	      "      --artifact-override NAME=VERSION  get VERSION (v3, 3, latest or\n"
	      "                          sha256:...) whenever the run asks for NAME\n"
	      "      --tracker NAME      where aero-init sends the run (AERO_TRACKER)\n"
	      "      --user USER[:GROUP] run the experiment as USER of the image (AERO_USER)\n"
	      "      --caps LIST         the capabilities it keeps, such as\n"
	      "                          cap_net_bind_service (AERO_CAPS; default none)\n"
	      "      --hermetic          no network sockets for the experiment (AERO_HERMETIC)\n"
	      "      --keep              keep the container after the run\n"
	      "      --build-only        check and build the image, print its id, run nothing\n"
	      "      --init PATH         the aero-init that --dev runs\n"
	      "  -q, --quiet             keep the build's output off the terminal\n"
	      "  -h, --help              print this help and exit\n",
	      out);
}

/* "64m" -> bytes. */
static int parse_size(const char *text, long long *out)
{
	char *end = (char *)text; /* strtoll's prototype predates const */
	const long long n = strtoll(text, &end, 10);
	long long unit = 1;
	if (*end == 'k' || *end == 'K')
		unit = 1024;
	else if (*end == 'm' || *end == 'M')
		unit = 1024LL * 1024;
	else if (*end == 'g' || *end == 'G')
		unit = 1024LL * 1024 * 1024;
	if (end == text || n <= 0 ||
	    (unit > 1 && end[1] != '\0' && strcmp(end + 1, "b") != 0 &&
	     strcmp(end + 1, "B") != 0) ||
	    (unit == 1 && *end != '\0') || n > (1LL << 50) / unit)
		return -1;
	*out = n * unit;
	return 0;
}

int aero_opts_append(const char ***list, size_t *count, const char *item)
{
	const char **bigger = realloc(*list, (*count + 2) * sizeof(**list));
	if (bigger == NULL)
		return -1;
	bigger[(*count)++] = item;
	bigger[*count] = NULL;
	*list = bigger;
	return 0;
}

static int check_gpus(const char *gpus)
{
	long n = 0;
	return strcmp(gpus, "all") == 0 || aero_parse_int(gpus, 1, 1024, &n) == 0 ? 0 : -1;
}

enum {
	OPT_ALLOW_UNPUSHED = 256,
	OPT_DEV,
	OPT_IMAGE,
	OPT_GPUS,
	OPT_SHM,
	OPT_NETWORK,
	OPT_BUILD_NETWORK,
	OPT_MOUNT,
	OPT_SEED,
	OPT_OVERRIDE,
	OPT_TRACKER,
	OPT_KEEP,
	OPT_BUILD_ONLY,
	OPT_INIT,
	OPT_USER,
	OPT_CAPS,
	OPT_HERMETIC,
	OPT_IMAGE_ID,
	OPT_RUN_ID,
	OPT_CPUS,
	OPT_MEMORY
};

/* NAME=VERSION: an artifact name and v3, 3, latest or sha256:HEX; no commas,
 * which separate them in AERO_ARTIFACT_OVERRIDES. */
static bool override_ok(const char *text)
{
	const char *eq = strchr(text, '=');
	if (eq == NULL || eq == text || strchr(text, ',') != NULL)
		return false;
	for (const char *p = text; p < eq; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return false;
	const char *version = eq + 1;
	if (strcmp(version, "latest") == 0)
		return true;
	if (strncmp(version, "sha256:", 7) == 0)
		return strlen(version + 7) == 64 && strspn(version + 7, "0123456789abcdef") == 64;
	if (*version == 'v')
		version++;
	return *version != '\0' && strspn(version, "0123456789") == strlen(version);
}

static int usage_error(const char *what, const char *value)
{
	aero_log_error("%s '%s'; see 'aero-launch run --help'", what, value);
	return -AERO_EXIT_USAGE;
}

/* One option; 0, or -AERO_EXIT_USAGE. */
static int take(int c, struct aero_run_opts *o)
{
	long seed = 0;
	switch (c) {
	case 'C':
		o->repo = optarg;
		return 0;
	case 'f':
		o->dockerfile = optarg;
		return 0;
	case 'q':
		o->quiet = true;
		return 0;
	case 'e':
		return aero_opts_append(&o->env, &o->env_count, optarg) == 0 ? 0
		                                                             : -AERO_EXIT_INTERNAL;
	case OPT_MOUNT:
		if (strchr(optarg, ':') == NULL || optarg[0] != '/')
			return usage_error(
			        "--mount takes HOST:PATH[:ro] with an absolute HOST, not", optarg);
		return aero_opts_append(&o->mounts, &o->mount_count, optarg) == 0
		               ? 0
		               : -AERO_EXIT_INTERNAL;
	case OPT_OVERRIDE:
		if (!override_ok(optarg))
			return usage_error(
			        "--artifact-override takes NAME=VERSION (v3, 3, latest or "
			        "sha256:HEX), not",
			        optarg);
		return aero_opts_append(&o->overrides, &o->override_count, optarg) == 0
		               ? 0
		               : -AERO_EXIT_INTERNAL;
	case OPT_ALLOW_UNPUSHED:
		o->allow_unpushed = true;
		return 0;
	case OPT_DEV:
		o->dev = true;
		return 0;
	case OPT_KEEP:
		o->keep = true;
		return 0;
	case OPT_BUILD_ONLY:
		o->build_only = true;
		return 0;
	case OPT_IMAGE:
		o->image = optarg;
		return 0;
	case OPT_NETWORK:
		o->network = optarg;
		return 0;
	case OPT_BUILD_NETWORK:
		o->build_network = optarg;
		return 0;
	case OPT_TRACKER:
		o->tracker = optarg;
		return 0;
	case OPT_INIT:
		o->init_path = optarg;
		return 0;
	case OPT_USER:
		o->user = optarg;
		return *optarg != '\0' ? 0 : usage_error("--user takes USER[:GROUP], not", optarg);
	case OPT_CAPS:
		o->caps = optarg;
		return *optarg != '\0'
		               ? 0
		               : usage_error("--caps takes a list such as cap_sys_ptrace, not",
		                             optarg);
	case OPT_HERMETIC:
		o->hermetic = true;
		return 0;
	case OPT_GPUS:
		o->gpus = optarg;
		return check_gpus(optarg) == 0
		               ? 0
		               : usage_error("--gpus takes 'all' or a count, not", optarg);
	case OPT_SHM:
		return parse_size(optarg, &o->shm_size) == 0
		               ? 0
		               : usage_error("--shm-size takes a size such as 2g or 512m, not",
		                             optarg);
	case OPT_IMAGE_ID:
		o->image_id = optarg;
		return *optarg != '\0' ? 0 : usage_error("--image-id takes an image, not", optarg);
	case OPT_RUN_ID:
		o->run_id = optarg;
		return aero_run_id_valid(optarg)
		               ? 0
		               : usage_error("--run-id takes 1 to 64 of letters, digits, '.', '_' "
		                             "and '-', not starting with '.', not",
		                             optarg);
	case OPT_CPUS:
		return aero_parse_cpus(optarg, &o->nano_cpus) == 0
		               ? 0
		               : usage_error("--cpus takes a number of CPUs such as 2 or 0.5, not",
		                             optarg);
	case OPT_MEMORY: {
		uint64_t bytes = 0;
		if (aero_size_parse(optarg, &bytes) < 0 || bytes == 0 || bytes > (1ULL << 50))
			return usage_error("--memory takes a size such as 2g or 512m, not", optarg);
		o->memory = (long long)bytes;
		return 0;
	}
	case OPT_SEED:
		o->seed = optarg;
		return aero_parse_int(optarg, 0, 4294967295L, &seed) == 0
		               ? 0
		               : usage_error("--seed takes a number from 0 to 2^32-1, not", optarg);
	default:
		run_usage(stderr);
		return -AERO_EXIT_USAGE;
	}
}

int aero_run_opts_parse(int argc, char **argv, struct aero_run_opts *opts)
{
	static const struct option longopts[] = {
	        {"repo", required_argument, NULL, 'C'},
	        {"file", required_argument, NULL, 'f'},
	        {"env", required_argument, NULL, 'e'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {"allow-unpushed", no_argument, NULL, OPT_ALLOW_UNPUSHED},
	        {"dev", no_argument, NULL, OPT_DEV},
	        {"image", required_argument, NULL, OPT_IMAGE},
	        {"gpus", required_argument, NULL, OPT_GPUS},
	        {"shm-size", required_argument, NULL, OPT_SHM},
	        {"network", required_argument, NULL, OPT_NETWORK},
	        {"build-network", required_argument, NULL, OPT_BUILD_NETWORK},
	        {"mount", required_argument, NULL, OPT_MOUNT},
	        {"seed", required_argument, NULL, OPT_SEED},
	        {"artifact-override", required_argument, NULL, OPT_OVERRIDE},
	        {"tracker", required_argument, NULL, OPT_TRACKER},
	        {"keep", no_argument, NULL, OPT_KEEP},
	        {"build-only", no_argument, NULL, OPT_BUILD_ONLY},
	        {"init", required_argument, NULL, OPT_INIT},
	        {"user", required_argument, NULL, OPT_USER},
	        {"caps", required_argument, NULL, OPT_CAPS},
	        {"hermetic", no_argument, NULL, OPT_HERMETIC},
	        {"image-id", required_argument, NULL, OPT_IMAGE_ID},
	        {"run-id", required_argument, NULL, OPT_RUN_ID},
	        {"cpus", required_argument, NULL, OPT_CPUS},
	        {"memory", required_argument, NULL, OPT_MEMORY},
	        {NULL, 0, NULL, 0},
	};
	memset(opts, 0, sizeof(*opts));
	opts->repo = ".";
	opts->dockerfile = "Dockerfile";
	optind = 1;
	opterr = 0; /* getopt would print an unknown --api-key=VALUE whole */
	int c;
	while ((c = getopt_long(argc, argv, "+:C:f:e:qh", longopts, NULL)) != -1) {
		if (c == 'h') {
			run_usage(stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			aero_log_error("run: %s '%.*s'; see 'aero-launch run --help'",
			               c == '?' ? "unknown option" : "a value is needed for",
			               aero_arg_shown(argv[optind - 1]), argv[optind - 1]);
			return -AERO_EXIT_USAGE;
		}
		const int rc = take(c, opts);
		if (rc == -AERO_EXIT_INTERNAL)
			aero_log_error("out of memory");
		if (rc < 0)
			return rc;
	}
	if (opts->build_only) {
		if (opts->dev) {
			aero_log_error("--build-only builds an image and --dev runs without one; "
			               "drop one of them");
			return -AERO_EXIT_USAGE;
		}
		if (optind < argc)
			return usage_error("--build-only runs no command; drop", argv[optind]);
		if (opts->image_id != NULL)
			return usage_error("--build-only builds an image and --image-id names one; "
			                   "drop",
			                   "--image-id");
		return 0;
	}
	if (optind >= argc) {
		aero_log_error(
		        "run needs a command: aero-launch run [OPTIONS] -- COMMAND [ARGS...]");
		return -AERO_EXIT_USAGE;
	}
	opts->command = argv + optind;
	return 0;
}

void aero_run_opts_free(struct aero_run_opts *opts)
{
	free(opts->env);
	free(opts->mounts);
	free(opts->overrides);
	opts->env = opts->mounts = opts->overrides = NULL;
}
