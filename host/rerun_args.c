/* A past run's facts as `aero-launch run` options, so that the rerun is an
 * ordinary run that its own manifest records like any other. */
#include "rerun_args.h"

#include "argv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void push(struct aero_argv *a, const char *item)
{
	aero_argv_add(a, "%s", item);
}

/* -e NAME=VALUE */
static void push_env(struct aero_argv *a, const char *name, const char *value)
{
	push(a, "-e");
	aero_argv_add(a, "%s=%s", name, value);
}

/* `run --seed` takes 0..2^32-1; aero-init takes any 64-bit base, such as one
 * drawn at random, which then goes in AERO_SEED itself. */
static void push_seed(struct aero_argv *a, const char *seed)
{
	char *end = NULL;
	const unsigned long long n = strtoull(seed, &end, 10);
	if (seed[0] >= '0' && seed[0] <= '9' && *end == '\0' && n <= 4294967295ULL) {
		push(a, "--seed");
		push(a, seed);
	} else {
		push_env(a, "AERO_SEED", seed);
	}
}

/* "registry:5000/project:0123abcd" -> "registry:5000/project": the build tags
 * NAME:SHORT-COMMIT itself. */
static void push_image_name(struct aero_argv *a, const char *image)
{
	const char *slash = strrchr(image, '/');
	const char *colon = strrchr(slash != NULL ? slash : image, ':');
	push(a, "--image");
	aero_argv_add(a, "%.*s", (int)(colon != NULL ? colon - image : (long)strlen(image)), image);
}

char **aero_rerun_args(const struct aero_rerun_plan *plan, const struct aero_rerun_choice *choice)
{
	struct aero_argv a = {0};
	push(&a, choice->program);
	push(&a, "run");
	push(&a, "-C");
	push(&a, choice->worktree);
	/* The run was checked when it ran; its commit need not be on a branch now. */
	push(&a, "--allow-unpushed");
	push(&a, "--run-id");
	push(&a, choice->run_id);
	if (choice->reuse_image) {
		push(&a, "--image-id");
		push(&a, plan->image_id);
		if (plan->image_name != NULL) {
			push(&a, "--image");
			push(&a, plan->image_name);
		}
	} else if (plan->image_name != NULL) {
		push_image_name(&a, plan->image_name);
	}
	if (plan->seed != NULL)
		push_seed(&a, plan->seed);
	for (size_t i = 0; i < plan->override_count; i++) {
		push(&a, "--artifact-override");
		push(&a, plan->overrides[i]);
	}
	if (plan->task != NULL)
		push_env(&a, "AERO_TASK", plan->task);
	if (plan->config != NULL)
		push_env(&a, "AERO_CONFIG", plan->config);
	if (plan->user != NULL) { /* before the options given, which may change them */
		push(&a, "--user");
		push(&a, plan->user);
	}
	if (plan->caps != NULL) {
		push(&a, "--caps");
		push(&a, plan->caps);
	}
	if (plan->hermetic)
		push(&a, "--hermetic");
	if (plan->allow_new_privs)
		push_env(&a, "AERO_ALLOW_NEW_PRIVS", "1");
	for (const char *const *p = choice->pass; p != NULL && *p != NULL; p++)
		push(&a, *p);
	push(&a, "--");
	for (char *const *c = choice->command != NULL ? choice->command : plan->command;
	     c != NULL && *c != NULL; c++)
		push(&a, *c);
	if (a.failed) {
		aero_argv_free(&a);
		return NULL;
	}
	return a.v;
}

void aero_rerun_args_free(char **args)
{
	for (size_t i = 0; args != NULL && args[i] != NULL; i++)
		free(args[i]);
	free(args);
}
