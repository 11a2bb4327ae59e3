/* aero-launch k8s job: the command line, the image to run and where the
 * manifest goes. The manifest itself is k8s.c's; its text is yaml.c's; the
 * options it shares with `pipeline argo` are k8s_opts.c's. */
#include "k8s_cmd.h"

#include "runsdir.h"

#include "error.h"
#include "k8s.h"
#include "k8s_opts.h"
#include "log.h"
#include "parse.h"
#include "status.h"
#include "yaml.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void aero_k8s_cmd_usage(FILE *out)
{
	fputs("Usage: aero-launch k8s job [OPTIONS] -- COMMAND [ARGS...]\n"
	      "\n"
	      "Prints a Kubernetes Job (YAML) that runs COMMAND under aero-init in the image.\n"
	      "\n",
	      out);
	aero_k8s_opts_usage(out);
	fputs("  --name NAME            the Job's name (default: aero-RUN_ID)\n"
	      "  --cpu N                CPU to request: 2, 0.5, 500m\n"
	      "  --memory SIZE          memory to request and limit to: 8Gi, 512Mi\n"
	      "  --gpus N               nvidia.com/gpu to request and limit to\n"
	      "  --seed N               AERO_SEED, the run's base seed\n"
	      "  --run-id ID            AERO_RUN_ID (default: drawn at random)\n"
	      "  --runs-pvc CLAIM       keep run directories on this PersistentVolumeClaim\n"
	      "                         (default: an emptyDir, gone with the pod)\n",
	      out);
}

enum {
	OPT_NAME = AERO_K8S_OPT_OWN,
	OPT_CPU,
	OPT_MEMORY,
	OPT_GPUS,
	OPT_SEED,
	OPT_RUN_ID,
	OPT_RUNS_PVC,
};

static const struct option own_options[] = {
        {"name", required_argument, NULL, OPT_NAME},
        {"cpu", required_argument, NULL, OPT_CPU},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"gpus", required_argument, NULL, OPT_GPUS},
        {"seed", required_argument, NULL, OPT_SEED},
        {"run-id", required_argument, NULL, OPT_RUN_ID},
        {"runs-pvc", required_argument, NULL, OPT_RUNS_PVC},
        {NULL, 0, NULL, 0},
};

struct cmd {
	struct aero_k8s_opts opts;
	char *image;  /* what the manifest runs */
	char *name;   /* the default name, when one is made */
	char *run_id; /* the drawn id, when one is drawn */
};

/* The run id's rule, as aero-init checks AERO_RUN_ID. */
static int check_run_id(const char *id)
{
	if (!aero_run_id_valid(id))
		return aero_error_set("--run-id '%s' is not a run id (1 to 64 of letters, digits, "
		                      "'.', '_' and '-', not starting with '.')",
		                      id);
	return 0;
}

static int parse_own(void *ctx, int c, char *arg)
{
	struct aero_k8s_job *job = &((struct cmd *)ctx)->opts.job;
	long value = 0;
	switch (c) {
	case OPT_NAME:
		job->name = arg;
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
	default:
		return aero_error_set("unknown option");
	}
}

/* A run id drawn as aero-init draws one, and a Job name made from the id. */
static int fill_defaults(struct cmd *cmd)
{
	struct aero_k8s_job *job = &cmd->opts.job;
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
	struct cmd cmd = {0};
	int status = AERO_EXIT_USAGE;
	const int parsed =
	        aero_k8s_opts_parse(&cmd.opts, argc, argv, own_options, "k8s job", parse_own, &cmd);
	if (parsed != 0) {
		if (parsed == 1)
			aero_k8s_cmd_usage(stdout);
		status = parsed == 1    ? AERO_EXIT_OK
		         : parsed == -1 ? AERO_EXIT_USAGE
		                        : AERO_EXIT_INTERNAL;
		goto out;
	}
	cmd.opts.job.command = argv + optind;
	cJSON *doc = NULL;
	if (fill_defaults(&cmd) < 0) { /* no random bytes, or no memory */
		aero_log_error("k8s job: %s", aero_error_last());
		status = AERO_EXIT_INTERNAL;
		goto out;
	}
	if (aero_k8s_image_resolve(cmd.opts.image_arg, "--image", &cmd.image) < 0) {
		aero_log_error("k8s job: %s", aero_error_last());
		goto out;
	}
	cmd.opts.job.image = cmd.image;
	if (aero_k8s_job_build(&cmd.opts.job, &doc) < 0) {
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
	aero_k8s_opts_free(&cmd.opts);
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
	                        : "only 'job' can be made (Argo workflows: 'aero-launch pipeline "
	                          "argo FILE')");
	return AERO_EXIT_USAGE;
}
