/* aero-launch pipeline argo: the command line, the pipeline file, the images
 * the tasks run and where the Workflow goes. The Workflow is pipeline_argo.c's;
 * the options it shares with `k8s job` are k8s_opts.c's. */
#include "pipeline_argo_cmd.h"

#include "error.h"
#include "k8s_opts.h"
#include "log.h"
#include "pipeline.h"
#include "pipeline_argo.h"
#include "status.h"
#include "yaml.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fputs("Usage: aero-launch pipeline argo [OPTIONS] FILE\n"
	      "\n"
	      "Prints an Argo Workflow (YAML) that runs the pipeline in FILE: a DAG of its\n"
	      "tasks, each in a pod of its own under aero-init, each task's outputs handed\n"
	      "to the tasks that take them as the exact versions it put (doc/argo.md).\n"
	      "Submit it with 'argo submit'. --image is the image of the tasks that name\n"
	      "none.\n"
	      "\n",
	      out);
	aero_k8s_opts_usage(out);
}

/* The image each task runs: its own, else the project's. */
static int resolve_images(const struct aero_pipeline *p, const char *image_arg, char **images)
{
	bool need_project = image_arg != NULL;
	for (size_t i = 0; i < p->count; i++)
		need_project = need_project || p->tasks[i].image == NULL;
	char *project = NULL;
	if (need_project && aero_k8s_image_resolve(image_arg, "--image", &project) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < p->count; i++) {
		const struct aero_task *t = &p->tasks[i];
		char what[96];
		(void)snprintf(what, sizeof(what), "task '%s': image", t->name);
		if (t->image != NULL)
			rc = aero_k8s_image_resolve(t->image, what, &images[i]);
		else if ((images[i] = strdup(project)) == NULL)
			rc = aero_error_set("out of memory");
	}
	free(project);
	return rc;
}

/* Artifacts pass between pods only through a store they all reach. */
static int check_store(const struct aero_pipeline *p, const struct aero_k8s_job *job)
{
	bool store = job->store != NULL;
	for (size_t i = 0; i < job->env_count; i++)
		store = store || strncmp(job->env[i], "AERO_STORE=", 11) == 0;
	for (size_t i = 0; !store && i < p->count; i++)
		if (p->tasks[i].input_count > 0 || p->tasks[i].output_count > 0)
			return aero_error_set(
			        "task '%s' takes or makes artifacts, and each task runs in a pod "
			        "of its own: give the store they share, --store "
			        "s3://BUCKET[/PREFIX] (its credentials with --secret)",
			        p->tasks[i].name);
	return 0;
}

static int write_workflow(const struct aero_pipeline *p, const struct aero_k8s_opts *opts)
{
	char **images = calloc(p->count + 1, sizeof(char *));
	if (images == NULL) {
		aero_log_error("pipeline argo: out of memory");
		return AERO_EXIT_INTERNAL;
	}
	int status = AERO_EXIT_USAGE;
	cJSON *doc = NULL;
	if (check_store(p, &opts->job) < 0 || resolve_images(p, opts->image_arg, images) < 0 ||
	    aero_pipeline_argo_build(p, &opts->job, images, &doc) < 0) {
		aero_log_error("pipeline argo: %s", aero_error_last());
	} else {
		/* Text YAML cannot hold (not UTF-8) is refused before anything is
		 * written, so only a write error leaves stdout's error indicator set. */
		status = AERO_EXIT_OK;
		if (aero_yaml_write(stdout, doc) < 0) {
			aero_log_error("pipeline argo: %s", aero_error_last());
			status = ferror(stdout) ? AERO_EXIT_INTERNAL : AERO_EXIT_USAGE;
		}
	}
	cJSON_Delete(doc);
	for (size_t i = 0; i < p->count; i++)
		free(images[i]);
	free(images);
	return status;
}

int aero_pipeline_argo_cmd(int argc, char **argv)
{
	struct aero_k8s_opts opts;
	const int parsed =
	        aero_k8s_opts_parse(&opts, argc, argv, NULL, "pipeline argo", NULL, NULL);
	int status = AERO_EXIT_USAGE;
	if (parsed == 1) {
		usage(stdout);
		status = AERO_EXIT_OK;
	} else if (parsed == -2) {
		status = AERO_EXIT_INTERNAL;
	} else if (parsed == 0 && argc - optind != 1) {
		aero_log_error("pipeline argo: %s; usage: aero-launch pipeline argo [OPTIONS] FILE",
		               argc - optind < 1 ? "the pipeline file is missing"
		                                 : "one pipeline file, and options before it");
	} else if (parsed == 0) {
		struct aero_pipeline p;
		if (aero_pipeline_load(argv[optind], &p) < 0) {
			aero_log_error("pipeline argo: %s", aero_error_last());
		} else {
			status = write_workflow(&p, &opts);
			aero_pipeline_free(&p);
		}
	}
	aero_k8s_opts_free(&opts);
	return status;
}
