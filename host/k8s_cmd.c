/* aero-launch k8s job: the command line, the image to run and where the
 * manifest goes. The manifest itself is k8s.c's; its text is yaml.c's. */
#include "k8s_cmd.h"

#include "runsdir.h"

#include "error.h"
#include "image_ref.h"
#include "k8s.h"
#include "log.h"
#include "parse.h"
#include "pushed.h"
#include "redact.h"
#include "status.h"
#include "yaml.h"

#include <ctype.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GRACE_MS (24L * 3600L * 1000L)

void aero_k8s_cmd_usage(FILE *out)
{
	fputs("Usage: aero-launch k8s job [OPTIONS] -- COMMAND [ARGS...]\n"
	      "\n"
	      "Prints a Kubernetes Job (YAML) that runs COMMAND under aero-init in the image.\n"
	      "\n"
	      "  --image NAME@sha256:D  the image, by digest (by tag it works, with a warning);\n"
	      "                         default: the image 'aero-launch push' pushed last\n"
	      "  --name NAME            the Job's name (default: aero-RUN_ID)\n"
	      "  --namespace NS         the Job's namespace (default: the context's)\n"
	      "  --cpu N                CPU to request: 2, 0.5, 500m\n"
	      "  --memory SIZE          memory to request and limit to: 8Gi, 512Mi\n"
	      "  --gpus N               nvidia.com/gpu to request and limit to\n"
	      "  --secret ENV=SECRET:KEY  ENV from key KEY of Secret SECRET (repeatable)\n"
	      "  --env NAME=VALUE       a plain variable (repeatable; secrets go with --secret)\n"
	      "  --grace DURATION       aero-init's grace period (default 10s); the pod gets 30s "
	      "more\n"
	      "  --tracker LIST         AERO_TRACKER: local, wandb, mlflow, comma-separated\n"
	      "  --seed N               AERO_SEED, the run's base seed\n"
	      "  --run-id ID            AERO_RUN_ID (default: drawn at random)\n"
	      "  --user USER[:GROUP]    the image's user the experiment runs as: AERO_USER, or\n"
	      "                         the pod's runAsUser for UID[:GID] without --caps\n"
	      "  --caps LIST            AERO_CAPS: the capabilities it keeps (default none)\n"
	      "  --hermetic             AERO_HERMETIC=1: no network sockets for it\n"
	      "  --allow-new-privs      AERO_ALLOW_NEW_PRIVS=1 and allowPrivilegeEscalation:\n"
	      "                         setuid programs work (default: no_new_privs)\n"
	      "  --runs-pvc CLAIM       keep run directories on this PersistentVolumeClaim\n"
	      "                         (default: an emptyDir, gone with the pod)\n",
	      out);
}

enum {
	OPT_IMAGE = 256,
	OPT_NAME,
	OPT_NAMESPACE,
	OPT_CPU,
	OPT_MEMORY,
	OPT_GPUS,
	OPT_SECRET,
	OPT_ENV,
	OPT_GRACE,
	OPT_TRACKER,
	OPT_SEED,
	OPT_RUN_ID,
	OPT_RUNS_PVC,
	OPT_USER,
	OPT_CAPS,
	OPT_HERMETIC,
	OPT_ALLOW_NEW_PRIVS,
};

static const struct option options[] = {
        {"image", required_argument, NULL, OPT_IMAGE},
        {"name", required_argument, NULL, OPT_NAME},
        {"namespace", required_argument, NULL, OPT_NAMESPACE},
        {"cpu", required_argument, NULL, OPT_CPU},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"gpus", required_argument, NULL, OPT_GPUS},
        {"secret", required_argument, NULL, OPT_SECRET},
        {"env", required_argument, NULL, OPT_ENV},
        {"grace", required_argument, NULL, OPT_GRACE},
        {"tracker", required_argument, NULL, OPT_TRACKER},
        {"seed", required_argument, NULL, OPT_SEED},
        {"run-id", required_argument, NULL, OPT_RUN_ID},
        {"runs-pvc", required_argument, NULL, OPT_RUNS_PVC},
        {"user", required_argument, NULL, OPT_USER},
        {"caps", required_argument, NULL, OPT_CAPS},
        {"hermetic", no_argument, NULL, OPT_HERMETIC},
        {"allow-new-privs", no_argument, NULL, OPT_ALLOW_NEW_PRIVS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

struct cmd {
	struct aero_k8s_job job;
	const char *image_arg;
	char *image;  /* what the manifest runs */
	char *name;   /* the default name, when one is made */
	char *run_id; /* the drawn id, when one is drawn */
	struct aero_k8s_secret *secrets;
	const char **env;
};

static int parse_secret(struct cmd *cmd, char *arg)
{
	char *eq = strchr(arg, '=');
	char *colon = eq != NULL ? strrchr(eq, ':') : NULL;
	if (colon == NULL || eq == arg || colon == eq + 1 || colon[1] == '\0')
		return aero_error_set("--secret '%s' is not ENV=SECRET:KEY (the variable ENV gets "
		                      "key KEY of the Secret named SECRET)",
		                      arg);
	*eq = '\0';
	*colon = '\0';
	cmd->secrets[cmd->job.secret_count++] =
	        (struct aero_k8s_secret){.env = arg, .secret = eq + 1, .key = colon + 1};
	return 0;
}

/* The run id's rule, as aero-init checks AERO_RUN_ID. */
static int check_run_id(const char *id)
{
	if (!aero_run_id_valid(id))
		return aero_error_set("--run-id '%s' is not a run id (1 to 64 of letters, digits, "
		                      "'.', '_' and '-', not starting with '.')",
		                      id);
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

static int parse_option(struct cmd *cmd, int c, char *arg)
{
	struct aero_k8s_job *job = &cmd->job;
	long value = 0;
	switch (c) {
	case OPT_IMAGE:
		cmd->image_arg = arg;
		return 0;
	case OPT_NAME:
		job->name = arg;
		return 0;
	case OPT_NAMESPACE:
		job->namespace = arg;
		return 0;
	case OPT_CPU:
		job->cpu = arg;
		return 0;
	case OPT_MEMORY:
		job->memory = arg;
		return 0;
	case OPT_GPUS:
		if (aero_parse_int(arg, 0, 1024, &value) < 0)
			return aero_error_set("--gpus: %s", aero_error_last());
		job->gpus = value;
		return 0;
	case OPT_SECRET:
		return parse_secret(cmd, arg);
	case OPT_ENV:
		cmd->env[job->env_count++] = arg;
		return 0;
	case OPT_GRACE:
		if (aero_parse_duration_ms(arg, MAX_GRACE_MS, &job->grace_ms) < 0)
			return aero_error_set("--grace: %s", aero_error_last());
		return 0;
	case OPT_TRACKER:
		job->tracker = arg;
		return check_tracker(arg);
	case OPT_SEED:
		if (arg[0] == '\0' || strspn(arg, "0123456789") != strlen(arg) ||
		    strlen(arg) > 20 ||
		    (strlen(arg) == 20 && strcmp(arg, "18446744073709551615") > 0))
			return aero_error_set("--seed '%s' is not a seed (a whole number from 0 to "
			                      "18446744073709551615)",
			                      arg);
		job->seed = arg;
		return 0;
	case OPT_RUN_ID:
		job->run_id = arg;
		return check_run_id(arg);
	case OPT_RUNS_PVC:
		job->runs_pvc = arg;
		return 0;
	case OPT_USER:
		job->user = arg;
		return *arg != '\0' ? 0 : aero_error_set("--user takes USER[:GROUP]");
	case OPT_CAPS:
		job->caps = arg;
		return *arg != '\0' ? 0
		                    : aero_error_set("--caps takes a list such as cap_sys_ptrace");
	case OPT_HERMETIC:
		job->hermetic = true;
		return 0;
	case OPT_ALLOW_NEW_PRIVS:
		job->allow_new_privs = true;
		return 0;
	default:
		return aero_error_set("unknown option");
	}
}

/* The image by digest when it can be had: given so, or recorded by the push of
 * the same repository and tag, or (with no --image) the last push. */
static int resolve_image(struct cmd *cmd)
{
	struct aero_pushed pushed;
	const int loaded = aero_pushed_load(&pushed);
	if (loaded < 0)
		return -1;
	int rc = 0;
	if (cmd->image_arg == NULL) {
		if (loaded == 1)
			return aero_error_set(
			        "no image: give --image NAME@sha256:DIGEST, or push one "
			        "first with 'aero-launch push REPOSITORY[:TAG]'");
		if (asprintf(&cmd->image, "%s@%s", pushed.repository, pushed.digest) < 0)
			rc = aero_error_set("out of memory");
		aero_pushed_clear(&pushed);
		return rc;
	}
	struct aero_image_ref ref;
	if (aero_image_ref_parse(cmd->image_arg, &ref) < 0) {
		aero_pushed_clear(&pushed);
		return aero_error_set("--image: %s", aero_error_last());
	}
	const char *tag = ref.tag != NULL ? ref.tag : "latest";
	if (ref.digest != NULL) {
		cmd->image = strdup(cmd->image_arg);
	} else if (loaded == 0 && strcmp(pushed.repository, ref.name) == 0 &&
	           strcmp(pushed.tag, tag) == 0) {
		if (asprintf(&cmd->image, "%s@%s", ref.name, pushed.digest) < 0)
			cmd->image = NULL;
		aero_log_info("%s: running %s, its digest when 'aero-launch push' pushed it",
		              cmd->image_arg, pushed.digest);
	} else {
		cmd->image = strdup(cmd->image_arg);
		aero_log_warn("--image %s is a tag, which may name another image tomorrow: the run "
		              "is reproducible only by digest; push it with 'aero-launch push' or "
		              "give NAME@sha256:DIGEST",
		              cmd->image_arg);
	}
	if (cmd->image == NULL)
		rc = aero_error_set("out of memory");
	aero_image_ref_clear(&ref);
	aero_pushed_clear(&pushed);
	return rc;
}

/* A run id drawn as aero-init draws one, and a Job name made from the id. */
static int fill_defaults(struct cmd *cmd)
{
	struct aero_k8s_job *job = &cmd->job;
	if (job->run_id == NULL) {
		cmd->run_id = aero_run_id_new();
		if (cmd->run_id == NULL)
			return -1;
		job->run_id = cmd->run_id;
	}
	if (job->name == NULL) {
		if (asprintf(&cmd->name, "aero-%.58s", job->run_id) < 0)
			return aero_error_set("out of memory");
		/* Lowercase, and '-' for what a DNS label cannot hold. */
		for (char *p = cmd->name; *p != '\0'; p++)
			*p = isalnum((unsigned char)*p) ? (char)tolower((unsigned char)*p) : '-';
		for (size_t n = strlen(cmd->name); n > 0 && cmd->name[n - 1] == '-'; n--)
			cmd->name[n - 1] = '\0';
		job->name = cmd->name;
	}
	return 0;
}

static int run_job(int argc, char **argv)
{
	struct cmd cmd = {.job = {.grace_ms = 10000}};
	/* At most one --env or --secret per argument. */
	cmd.secrets = calloc((size_t)argc + 1, sizeof(*cmd.secrets));
	cmd.env = calloc((size_t)argc + 1, sizeof(*cmd.env));
	int status = AERO_EXIT_USAGE;
	if (cmd.secrets == NULL || cmd.env == NULL) {
		aero_log_error("out of memory");
		status = AERO_EXIT_INTERNAL;
		goto out;
	}
	cmd.job.secrets = cmd.secrets;
	cmd.job.env = cmd.env;
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
		if (c == 'h') {
			aero_k8s_cmd_usage(stdout);
			status = 0;
			goto out;
		}
		if (c == '?' || c == ':') {
			aero_log_error("k8s job: %s '%.*s'; see 'aero-launch k8s job --help'",
			               c == '?' ? "unknown option" : "a value is needed for",
			               aero_arg_shown(argv[optind - 1]), argv[optind - 1]);
			goto out;
		}
		if (parse_option(&cmd, c, optarg) < 0) {
			aero_log_error("k8s job: %s", aero_error_last());
			goto out;
		}
	}
	cmd.job.command = argv + optind;
	cJSON *doc = NULL;
	if (fill_defaults(&cmd) < 0) { /* no random bytes, or no memory */
		aero_log_error("k8s job: %s", aero_error_last());
		status = AERO_EXIT_INTERNAL;
		goto out;
	}
	if (resolve_image(&cmd) < 0) {
		aero_log_error("k8s job: %s", aero_error_last());
		goto out;
	}
	cmd.job.image = cmd.image;
	if (aero_k8s_job_build(&cmd.job, &doc) < 0) {
		aero_log_error("k8s job: %s", aero_error_last());
		goto out;
	}
	/* Text YAML cannot hold (not UTF-8) is refused before anything is written,
	 * so only a write error leaves stdout's error indicator set. */
	status = AERO_EXIT_OK;
	if (aero_yaml_write(stdout, doc) < 0) {
		aero_log_error("k8s job: %s", aero_error_last());
		status = ferror(stdout) ? AERO_EXIT_INTERNAL : AERO_EXIT_USAGE;
	}
	cJSON_Delete(doc);
out:
	free(cmd.image);
	free(cmd.name);
	free(cmd.run_id);
	free(cmd.secrets);
	free(cmd.env);
	return status;
}

int aero_k8s_cmd(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "job") == 0)
		return run_job(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		aero_k8s_cmd_usage(stdout);
		return 0;
	}
	aero_log_error("k8s: %s; the command is 'aero-launch k8s job [OPTIONS] -- COMMAND'",
	               argc < 2 ? "what to make is missing"
	                        : "only 'job' can be made (Argo workflows come with pipelines)");
	return AERO_EXIT_USAGE;
}
