/* The options `aero-launch k8s job` and `aero-launch pipeline argo` share:
 * the image, where and as whom the pods run, the tracker and the store, the
 * variables and secrets, aero-init's security settings. One parser, one
 * help text, one rule for the image, so that the two commands agree. */
#ifndef AERO_HOST_K8S_OPTS_H
#define AERO_HOST_K8S_OPTS_H

#include "k8s.h"

#include <getopt.h>
#include <stdio.h>

enum {
	AERO_K8S_OPT_IMAGE = 256,
	AERO_K8S_OPT_NAMESPACE,
	AERO_K8S_OPT_SECRET,
	AERO_K8S_OPT_ENV,
	AERO_K8S_OPT_GRACE,
	AERO_K8S_OPT_TRACKER,
	AERO_K8S_OPT_STORE,
	AERO_K8S_OPT_SERVICE_ACCOUNT,
	AERO_K8S_OPT_USER,
	AERO_K8S_OPT_CAPS,
	AERO_K8S_OPT_HERMETIC,
	AERO_K8S_OPT_ALLOW_NEW_PRIVS,
	AERO_K8S_OPT_OWN /* a command's own options are numbered from here */
};

struct aero_k8s_opts {
	struct aero_k8s_job job; /* what every container shares; points into argv */
	const char *image_arg;   /* --image as given, or NULL */
	struct aero_k8s_secret *secrets;
	const char **env;
};

/* A command's own option c with its argument; 0, or -1 with aero_error. */
typedef int (*aero_k8s_own_fn)(void *ctx, int c, char *arg);

/* Parses argv (argv[0] is the command's name): the shared options into *o,
 * the command's own (the table own_options, ending in a zeroed entry, values
 * from AERO_K8S_OPT_OWN) through own(ctx, ...). 0 when parsed (optind is the
 * first operand), 1 when --help was asked, -1 when the command line cannot be
 * acted on (said on stderr, what naming the command: "k8s job"), -2 when
 * memory runs out. Free *o with aero_k8s_opts_free whatever it returns. */
int aero_k8s_opts_parse(struct aero_k8s_opts *o, int argc, char **argv,
                        const struct option *own_options, const char *what, aero_k8s_own_fn own,
                        void *ctx);

/* Frees what aero_k8s_opts_parse allocated. */
void aero_k8s_opts_free(struct aero_k8s_opts *o);

/* Prints the help lines of the shared options. */
void aero_k8s_opts_usage(FILE *out);

/* The image to run for the reference given (NULL: the last 'aero-launch
 * push'), by digest when it can be had: given so, or the digest the push of
 * the same repository and tag recorded; by tag with a warning otherwise (what
 * names the reference in messages: "--image"). 0 with *image malloc'd, or -1
 * with aero_error. */
int aero_k8s_image_resolve(const char *given, const char *what, char **image);

#endif
