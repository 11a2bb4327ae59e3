/* `aero-launch run`'s command line. */
#ifndef AERO_HOST_RUN_OPTS_H
#define AERO_HOST_RUN_OPTS_H

#include <stdbool.h>
#include <stddef.h>

struct aero_run_opts {
	const char *repo;          /* -C */
	const char *image;         /* --image: the repository part of the tag */
	const char *dockerfile;    /* --file */
	const char *gpus;          /* --gpus all|N */
	const char *network;       /* --network */
	const char *build_network; /* --build-network: the build's RUN steps */
	const char *seed;          /* --seed */
	const char *tracker;       /* --tracker */
	const char *init_path;     /* --init: aero-init for --dev */
	const char *user;          /* --user USER[:GROUP]: AERO_USER */
	const char *caps;          /* --caps LIST: AERO_CAPS */
	const char *image_id;      /* --image-id: run this image, build none */
	const char *run_id;        /* --run-id: the run's id (default: drawn) */
	long long shm_size;        /* --shm-size, bytes; 0: the engine's default */
	long long memory;          /* --memory, bytes; 0: no limit */
	long long nano_cpus;       /* --cpus, in 1e-9 CPUs; 0: no limit */
	const char **env;          /* --env NAME[=VALUE], NULL-terminated */
	size_t env_count;
	const char **mounts; /* --mount HOST:CONTAINER[:ro] */
	size_t mount_count;
	const char **overrides; /* --artifact-override NAME=VERSION */
	size_t override_count;
	bool allow_unpushed, dev, keep, quiet;
	bool hermetic;   /* --hermetic: AERO_HERMETIC=1 */
	bool build_only; /* --build-only: check, build, print the image's id */
	char **command;  /* after "--"; NULL with --build-only */
};

/* Parses argv (argv[0] is "run"). 0; 1 when --help was printed; or
 * -AERO_EXIT_USAGE with the problem printed. Free with aero_run_opts_free. */
int aero_run_opts_parse(int argc, char **argv, struct aero_run_opts *opts);

/* Appends item to a NULL-terminated list of count items (a repeated option's
 * values); 0, or -1 when out of memory. */
int aero_opts_append(const char ***list, size_t *count, const char *item);

/* Frees the option lists. */
void aero_run_opts_free(struct aero_run_opts *opts);

#endif
