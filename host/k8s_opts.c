/* The options the Kubernetes manifests share, and the image they run. */
#include "k8s_opts.h"

#include "error.h"
#include "image_ref.h"
#include "log.h"
#include "parse.h"
#include "pushed.h"
#include "redact.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GRACE_MS (24L * 3600L * 1000L)

static const struct option shared[] = {
        {"image", required_argument, NULL, AERO_K8S_OPT_IMAGE},
        {"namespace", required_argument, NULL, AERO_K8S_OPT_NAMESPACE},
        {"secret", required_argument, NULL, AERO_K8S_OPT_SECRET},
        {"env", required_argument, NULL, AERO_K8S_OPT_ENV},
        {"grace", required_argument, NULL, AERO_K8S_OPT_GRACE},
        {"tracker", required_argument, NULL, AERO_K8S_OPT_TRACKER},
        {"store", required_argument, NULL, AERO_K8S_OPT_STORE},
        {"service-account", required_argument, NULL, AERO_K8S_OPT_SERVICE_ACCOUNT},
        {"user", required_argument, NULL, AERO_K8S_OPT_USER},
        {"caps", required_argument, NULL, AERO_K8S_OPT_CAPS},
        {"hermetic", no_argument, NULL, AERO_K8S_OPT_HERMETIC},
        {"allow-new-privs", no_argument, NULL, AERO_K8S_OPT_ALLOW_NEW_PRIVS},
        {"help", no_argument, NULL, 'h'},
};
#define SHARED_COUNT (sizeof(shared) / sizeof(shared[0]))

void aero_k8s_opts_usage(FILE *out)
{
	fputs("  --image NAME@sha256:D  the image, by digest (by tag it works, with a warning);\n"
	      "                         default: the image 'aero-launch push' pushed last\n"
	      "  --namespace NS         the namespace (default: the context's)\n"
	      "  --service-account SA   the pods' service account (default: the namespace's)\n"
	      "  --secret ENV=SECRET:KEY  ENV from key KEY of Secret SECRET (repeatable)\n"
	      "  --env NAME=VALUE       a plain variable (repeatable; secrets go with --secret)\n"
	      "  --grace DURATION       aero-init's grace period (default 10s); the pod gets 30s "
	      "more\n"
	      "  --tracker LIST         AERO_TRACKER: local, wandb, mlflow, comma-separated\n"
	      "  --store URL            AERO_STORE: the artifact store, s3://BUCKET[/PREFIX]\n"
	      "  --user USER[:GROUP]    the image's user the experiment runs as: AERO_USER, or\n"
	      "                         the pod's runAsUser for UID[:GID] without --caps\n"
	      "  --caps LIST            AERO_CAPS: the capabilities it keeps (default none)\n"
	      "  --hermetic             AERO_HERMETIC=1: no network sockets for it\n"
	      "  --allow-new-privs      AERO_ALLOW_NEW_PRIVS=1 and allowPrivilegeEscalation:\n"
	      "                         setuid programs work (default: no_new_privs)\n",
	      out);
}

static int parse_secret(struct aero_k8s_opts *o, char *arg)
{
	char *eq = strchr(arg, '=');
	char *colon = eq != NULL ? strrchr(eq, ':') : NULL;
	if (colon == NULL || eq == arg || colon == eq + 1 || colon[1] == '\0')
		return aero_error_set("--secret '%s' is not ENV=SECRET:KEY (the variable ENV gets "
		                      "key KEY of the Secret named SECRET)",
		                      arg);
	*eq = '\0';
	*colon = '\0';
	o->secrets[o->job.secret_count++] =
	        (struct aero_k8s_secret){.env = arg, .secret = eq + 1, .key = colon + 1};
	return 0;
}

static int check_tracker(const char *list)
{
	static const char *const known[] = {"local", "wandb", "mlflow"};
	const char *p = list;
	while (true) {
		const size_t length = strcspn(p, ",");
		bool found = false;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			found = found ||
			        (strlen(known[i]) == length && strncmp(p, known[i], length) == 0);
		if (!found)
			return aero_error_set(
			        "--tracker '%s': '%.*s' is not a tracker (local, wandb, "
			        "mlflow)",
			        list, (int)length, p);
		if (p[length] == '\0')
			return 0;
		p += length + 1;
	}
}

/* A store every pod can reach: S3. A file:// store is taken (a volume may be
 * mounted at its path), with a warning. */
static int check_store(const char *url)
{
	if (strncmp(url, "s3://", 5) == 0 && url[5] != '\0' && url[5] != '/')
		return 0;
	if (strncmp(url, "file:///", 8) == 0) {
		aero_log_warn("--store %s: each pod has a file system of its own; the store is "
		              "shared only if a volume is mounted there in every pod",
		              url);
		return 0;
	}
	return aero_error_set("--store '%s' is not a store URL (s3://BUCKET[/PREFIX], or "
	                      "file:///DIR on a volume every pod mounts)",
	                      url);
}

static int parse_shared(struct aero_k8s_opts *o, int c, char *arg)
{
	struct aero_k8s_job *job = &o->job;
	switch (c) {
	case AERO_K8S_OPT_IMAGE:
		o->image_arg = arg;
		return 0;
	case AERO_K8S_OPT_NAMESPACE:
		job->namespace = arg;
		return 0;
	case AERO_K8S_OPT_SECRET:
		return parse_secret(o, arg);
	case AERO_K8S_OPT_ENV:
		o->env[job->env_count++] = arg;
		return 0;
	case AERO_K8S_OPT_GRACE:
		if (aero_parse_duration_ms(arg, MAX_GRACE_MS, &job->grace_ms) < 0)
			return aero_error_set("--grace: %s", aero_error_last());
		return 0;
	case AERO_K8S_OPT_TRACKER:
		job->tracker = arg;
		return check_tracker(arg);
	case AERO_K8S_OPT_STORE:
		job->store = arg;
		return check_store(arg);
	case AERO_K8S_OPT_SERVICE_ACCOUNT:
		job->service_account = arg;
		return 0;
	case AERO_K8S_OPT_USER:
		job->user = arg;
		return *arg != '\0' ? 0 : aero_error_set("--user takes USER[:GROUP]");
	case AERO_K8S_OPT_CAPS:
		job->caps = arg;
		return *arg != '\0' ? 0
		                    : aero_error_set("--caps takes a list such as cap_sys_ptrace");
	case AERO_K8S_OPT_HERMETIC:
		job->hermetic = true;
		return 0;
	case AERO_K8S_OPT_ALLOW_NEW_PRIVS:
		job->allow_new_privs = true;
		return 0;
	default:
		return aero_error_set("unknown option");
	}
}

/* The shared entries, then own, then the end. */
static struct option *joined(const struct option *own)
{
	size_t own_count = 0;
	while (own != NULL && own[own_count].name != NULL)
		own_count++;
	struct option *all = calloc(SHARED_COUNT + own_count + 1, sizeof(*all));
	if (all != NULL) {
		memcpy(all, shared, sizeof(shared));
		if (own_count > 0)
			memcpy(all + SHARED_COUNT, own, own_count * sizeof(*all));
	}
	return all;
}

int aero_k8s_opts_parse(struct aero_k8s_opts *o, int argc, char **argv,
                        const struct option *own_options, const char *what, aero_k8s_own_fn own,
                        void *ctx)
{
	memset(o, 0, sizeof(*o));
	o->job.grace_ms = 10000;
	/* At most one --env or --secret per argument. */
	o->secrets = calloc((size_t)argc + 1, sizeof(*o->secrets));
	o->env = calloc((size_t)argc + 1, sizeof(*o->env));
	struct option *options = joined(own_options);
	if (o->secrets == NULL || o->env == NULL || options == NULL) {
		free(options);
		aero_log_error("%s: out of memory", what);
		return -2;
	}
	o->job.secrets = o->secrets;
	o->job.env = o->env;
	optind = 0;
	opterr = 0;
	int c;
	int rc = 0;
	while (rc == 0 && (c = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
		if (c == 'h') {
			rc = 1;
		} else if (c == '?' || c == ':') {
			aero_log_error("%s: %s '%.*s'; see 'aero-launch %s --help'", what,
			               c == '?' ? "unknown option" : "a value is needed for",
			               aero_arg_shown(argv[optind - 1]), argv[optind - 1], what);
			rc = -1;
		} else if ((c < AERO_K8S_OPT_OWN ? parse_shared(o, c, optarg)
		            : own != NULL        ? own(ctx, c, optarg)
		                                 : aero_error_set("unknown option")) < 0) {
			aero_log_error("%s: %s", what, aero_error_last());
			rc = -1;
		}
	}
	free(options);
	return rc;
}

void aero_k8s_opts_free(struct aero_k8s_opts *o)
{
	free(o->secrets);
	free(o->env);
	o->secrets = NULL;
	o->env = NULL;
}

int aero_k8s_image_resolve(const char *given, const char *what, char **image)
{
	*image = NULL;
	struct aero_pushed pushed;
	const int loaded = aero_pushed_load(&pushed);
	if (loaded < 0)
		return -1;
	int rc = 0;
	if (given == NULL) {
		if (loaded == 1)
			return aero_error_set(
			        "no image: give --image NAME@sha256:DIGEST, or push one "
			        "first with 'aero-launch push REPOSITORY[:TAG]'");
		if (asprintf(image, "%s@%s", pushed.repository, pushed.digest) < 0)
			*image = NULL;
		aero_pushed_clear(&pushed);
		return *image != NULL ? 0 : aero_error_set("out of memory");
	}
	struct aero_image_ref ref;
	if (aero_image_ref_parse(given, &ref) < 0) {
		aero_pushed_clear(&pushed);
		return aero_error_set("%s: %s", what, aero_error_last());
	}
	const char *tag = ref.tag != NULL ? ref.tag : "latest";
	if (ref.digest != NULL) {
		*image = strdup(given);
	} else if (loaded == 0 && strcmp(pushed.repository, ref.name) == 0 &&
	           strcmp(pushed.tag, tag) == 0) {
		if (asprintf(image, "%s@%s", ref.name, pushed.digest) < 0)
			*image = NULL;
		aero_log_info("%s: running %s, its digest when 'aero-launch push' pushed it", given,
		              pushed.digest);
	} else {
		*image = strdup(given);
		aero_log_warn("%s %s is a tag, which may name another image tomorrow: the run "
		              "is reproducible only by digest; push it with 'aero-launch push' or "
		              "give NAME@sha256:DIGEST",
		              what, given);
	}
	if (*image == NULL)
		rc = aero_error_set("out of memory");
	aero_image_ref_clear(&ref);
	aero_pushed_clear(&pushed);
	return rc;
}
