/* A tracked run: the Git checks, the image built from the commit, the
 * container with aero-init as PID 1, its output and exit status. */
#include "run_cmd.h"

#include "build.h"
#include "check_cmd.h"
#include "clock.h"
#include "container.h"
#include "context.h"
#include "dev.h"
#include "engine.h"
#include "error.h"
#include "image_id.h"
#include "log.h"
#include "run_env.h"
#include "run_opts.h"
#include "runsdir.h"
#include "status.h"
#include "store.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Where the run directory and the artifact cache appear in the container. */
#define CONTAINER_RUN_DIR "/aeromancy/run"
#define CONTAINER_CACHE_DIR "/aeromancy/cache"
/* A file:// store, mounted where the experiment's aero-init finds it. */
#define CONTAINER_STORE_DIR "/aeromancy/store"

/* The image's name from the checkout's directory, as Docker allows it. */
static char *image_name(const struct aero_run_opts *o, const struct aero_git_facts *g)
{
	if (o->image != NULL)
		return strdup(o->image);
	const size_t len = strlen(g->workdir);
	size_t end = len > 0 && g->workdir[len - 1] == '/' ? len - 1 : len;
	size_t start = end;
	while (start > 0 && g->workdir[start - 1] != '/')
		start--;
	char *name = strndup(g->workdir + start, end - start);
	if (name == NULL)
		return NULL;
	for (char *c = name; *c != '\0'; c++) {
		*c = (char)tolower((unsigned char)*c);
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-')
			*c = '-';
	}
	if (!isalnum((unsigned char)name[0])) {
		free(name);
		return strdup("experiment");
	}
	return name;
}

static cJSON *labels_of(const struct aero_git_facts *g, const char *title)
{
	char now[AERO_UTC_SIZE];
	aero_clock_utc_now(now);
	cJSON *labels = cJSON_CreateObject();
	if (labels == NULL ||
	    cJSON_AddStringToObject(labels, "org.opencontainers.image.revision", g->commit) ==
	            NULL ||
	    cJSON_AddStringToObject(labels, "org.opencontainers.image.created", now) == NULL ||
	    cJSON_AddStringToObject(labels, "org.opencontainers.image.title", title) == NULL ||
	    (g->remote_url != NULL &&
	     cJSON_AddStringToObject(labels, "org.opencontainers.image.source", g->remote_url) ==
	             NULL) ||
	    (g->branch != NULL &&
	     cJSON_AddStringToObject(labels, "io.aeromancy.branch", g->branch) == NULL)) {
		cJSON_Delete(labels);
		return NULL;
	}
	return labels;
}

static int add_strings(cJSON *obj, const char *key, char *const *items, size_t count)
{
	cJSON *array = cJSON_AddArrayToObject(obj, key);
	for (size_t i = 0; array != NULL && i < count; i++) {
		cJSON *s = cJSON_CreateString(items[i]);
		if (s == NULL || !cJSON_AddItemToArray(array, s)) {
			cJSON_Delete(s);
			return -1;
		}
	}
	return array != NULL ? 0 : -1;
}

static int add_gpus(cJSON *host, const char *gpus)
{
	cJSON *requests = cJSON_AddArrayToObject(host, "DeviceRequests");
	cJSON *req = cJSON_CreateObject();
	if (requests == NULL || req == NULL || !cJSON_AddItemToArray(requests, req)) {
		cJSON_Delete(req);
		return -1;
	}
	const double count = strcmp(gpus, "all") == 0 ? -1 : strtod(gpus, NULL);
	cJSON *caps = cJSON_AddArrayToObject(req, "Capabilities");
	cJSON *gpu = cJSON_CreateArray();
	if (cJSON_AddStringToObject(req, "Driver", "") == NULL ||
	    cJSON_AddNumberToObject(req, "Count", count) == NULL || caps == NULL || gpu == NULL ||
	    !cJSON_AddItemToArray(caps, gpu) ||
	    !cJSON_AddItemToArray(gpu, cJSON_CreateString("gpu")))
		return -1;
	return 0;
}

/* --caps: the container must hold what aero-init is to give the experiment
 * (Docker's default set lacks most), so they are added to it as well. */
static int add_caps(cJSON *host, const char *caps)
{
	if (caps == NULL || strcasecmp(caps, "none") == 0)
		return 0;
	cJSON *add = cJSON_AddArrayToObject(host, "CapAdd");
	char *copy = strdup(caps);
	int rc = add != NULL && copy != NULL ? 0 : -1;
	char *save = NULL;
	for (char *name = copy != NULL ? strtok_r(copy, ", ", &save) : NULL;
	     name != NULL && rc == 0; name = strtok_r(NULL, ", ", &save))
		if (!cJSON_AddItemToArray(add, cJSON_CreateString(name)))
			rc = -1;
	free(copy);
	return rc;
}

/* The body of POST /containers/create. */
static cJSON *container_body(const struct aero_run_opts *o, const char *image_id,
                             const struct aero_env *env, char *const *binds, size_t bind_count,
                             const char *run_id)
{
	size_t argc = 0;
	while (o->command[argc] != NULL)
		argc++;
	cJSON *body = cJSON_CreateObject();
	cJSON *labels = cJSON_AddObjectToObject(body, "Labels");
	cJSON *host = cJSON_AddObjectToObject(body, "HostConfig");
	if (body == NULL || labels == NULL || host == NULL ||
	    cJSON_AddStringToObject(body, "Image", image_id) == NULL ||
	    add_strings(body, "Cmd", o->command, argc) < 0 ||
	    add_strings(body, "Env", env->items, env->count) < 0 ||
	    cJSON_AddStringToObject(labels, "io.aeromancy.run-id", run_id) == NULL ||
	    cJSON_AddFalseToObject(body, "Tty") == NULL ||
	    cJSON_AddTrueToObject(body, "AttachStdout") == NULL ||
	    cJSON_AddTrueToObject(body, "AttachStderr") == NULL ||
	    add_strings(host, "Binds", binds, bind_count) < 0 ||
	    (o->shm_size > 0 &&
	     cJSON_AddNumberToObject(host, "ShmSize", (double)o->shm_size) == NULL) ||
	    (o->network != NULL &&
	     cJSON_AddStringToObject(host, "NetworkMode", o->network) == NULL) ||
	    (o->memory > 0 && cJSON_AddNumberToObject(host, "Memory", (double)o->memory) == NULL) ||
	    (o->nano_cpus > 0 &&
	     cJSON_AddNumberToObject(host, "NanoCpus", (double)o->nano_cpus) == NULL) ||
	    (o->gpus != NULL && add_gpus(host, o->gpus) < 0) || add_caps(host, o->caps) < 0) {
		cJSON_Delete(body);
		return NULL;
	}
	return body;
}

struct run {
	struct aero_run_opts opts;
	git_repository *repo;
	struct aero_git_facts git;
	struct aero_engine *eng;
	struct aero_context *ctx;
	char *name, *tag, *image_id, *run_id, *runs, *run_dir, *cache_dir, *container;
	char *store_url;
	struct aero_env env;
	char *binds[3];
	cJSON *labels, *body;
	int sigfd;
};

static void run_free(struct run *r)
{
	aero_context_free(r->ctx);
	aero_engine_free(r->eng);
	aero_git_facts_free(&r->git);
	git_repository_free(r->repo);
	free(r->name);
	free(r->tag);
	free(r->image_id);
	free(r->run_id);
	free(r->runs);
	free(r->run_dir);
	free(r->cache_dir);
	free(r->container);
	free(r->store_url);
	for (size_t i = 0; i < sizeof(r->binds) / sizeof(r->binds[0]); i++)
		free(r->binds[i]);
	aero_env_free(&r->env);
	cJSON_Delete(r->labels);
	cJSON_Delete(r->body);
	aero_run_opts_free(&r->opts);
	if (r->sigfd >= 0)
		close(r->sigfd);
}

/* The image: the commit's tree as the context, tagged NAME:SHORT-COMMIT; or,
 * with --image-id, an image built (or pulled) before, recorded under that
 * tag (or the --image given with it: a task of a pipeline may name one). */
static int build_image(struct run *r)
{
	const struct aero_git_facts *g = &r->git;
	const bool given = r->opts.image_id != NULL;
	char *name = image_name(&r->opts, g);
	const size_t len = name != NULL ? strlen(name) + sizeof(g->short_commit) + 2 : 0;
	char *tag = len > 0 ? malloc(len) : NULL;
	if (tag != NULL && given && r->opts.image != NULL) {
		memcpy(tag, name, len - sizeof(g->short_commit) - 1);
	} else if (tag != NULL) {
		memcpy(tag, name, len - sizeof(g->short_commit) - 2);
		tag[len - sizeof(g->short_commit) - 2] = ':';
		memcpy(tag + len - sizeof(g->short_commit) - 1, g->short_commit,
		       sizeof(g->short_commit));
	}
	if (tag != NULL && !given)
		r->labels = labels_of(g, name);
	r->name = name;
	r->tag = tag;
	if (r->tag == NULL || (!given && r->labels == NULL)) {
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	int rc = aero_engine_open(&r->eng);
	if (rc < 0)
		return rc;
	if (given)
		return aero_image_id(r->eng, r->opts.image_id, &r->image_id);
	git_oid commit;
	if (git_oid_fromstr(&commit, g->commit) != 0 ||
	    aero_context_new(r->repo, &commit, &r->ctx) < 0)
		return -AERO_EXIT_INTERNAL;
	if (!aero_context_has_file(r->ctx, r->opts.dockerfile)) {
		aero_error_set(
		        "commit %s has no '%s': write one (for example 'FROM aeromancy/base' "
		        "and 'COPY . /work'), commit it, and run again; or name another with "
		        "--file",
		        g->short_commit, r->opts.dockerfile);
		return -AERO_EXIT_BUILD;
	}
	if (!r->opts.quiet)
		fprintf(stderr, "aero-launch: building %s from commit %s\n", r->tag,
		        g->short_commit);
	const struct aero_build_request req = {.tag = r->tag,
	                                       .dockerfile = r->opts.dockerfile,
	                                       .labels = r->labels,
	                                       .network = r->opts.build_network,
	                                       .quiet = r->opts.quiet};
	return aero_image_build(r->eng, r->ctx, &req, &r->image_id);
}

static char *bind_of(const char *host, const char *container)
{
	const size_t len = strlen(host) + strlen(container) + 2;
	char *bind = malloc(len);
	if (bind != NULL)
		(void)snprintf(bind, len, "%s:%s", host, container);
	return bind;
}

/* The store as the container reaches it: a file:// store's directory is
 * mounted (made first, so that the engine does not make it as root); an s3://
 * store is reached over the network with the AWS_* credentials passed by name. */
static int store_for_container(struct run *r, const char **url)
{
	r->store_url = aero_store_default_url();
	if (r->store_url == NULL) {
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	*url = r->store_url;
	if (strncmp(r->store_url, "file://", 7) != 0)
		return 0;
	const char *dir = r->store_url + 7;
	if (dir[0] != '/') {
		aero_error_set("AERO_STORE='%s' needs an absolute path: file:///DIR", r->store_url);
		return -AERO_EXIT_USAGE;
	}
	if (aero_mkdirs(dir) < 0 || (r->binds[2] = bind_of(dir, CONTAINER_STORE_DIR)) == NULL)
		return -AERO_EXIT_INTERNAL;
	*url = "file://" CONTAINER_STORE_DIR;
	return 0;
}

/* The run's id and directories, its environment and the container's body. */
static int prepare_run(struct run *r)
{
	r->run_id = r->opts.run_id != NULL ? strdup(r->opts.run_id) : aero_run_id_new();
	r->runs = aero_runs_dir();
	r->cache_dir = aero_cache_dir();
	if (r->run_id == NULL || r->runs == NULL || r->cache_dir == NULL ||
	    (r->run_dir = aero_path_join(r->runs, r->run_id)) == NULL) {
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	if (aero_mkdirs(r->run_dir) < 0 || aero_mkdirs(r->cache_dir) < 0)
		return -AERO_EXIT_INTERNAL;
	const char *store = NULL;
	const int store_rc = store_for_container(r, &store);
	if (store_rc < 0)
		return store_rc;
	const struct aero_run_facts facts = {
	        .run_id = r->run_id,
	        .run_dir = CONTAINER_RUN_DIR,
	        .cache_dir = CONTAINER_CACHE_DIR,
	        .git = &r->git,
	        .image_id = r->image_id,
	        .image_name = r->tag,
	        .seed = r->opts.seed,
	        .tracker = r->opts.tracker,
	        .user = r->opts.user,
	        .caps = r->opts.caps,
	        .hermetic = r->opts.hermetic,
	        .store = store,
	        .overrides = r->opts.overrides,
	        .override_count = r->opts.override_count,
	};
	if (aero_env_add_run(&r->env, &facts) < 0 || aero_env_add_credentials(&r->env) < 0 ||
	    aero_env_add_user(&r->env, r->opts.env) < 0)
		return -AERO_EXIT_INTERNAL;
	r->binds[0] = bind_of(r->run_dir, CONTAINER_RUN_DIR);
	r->binds[1] = bind_of(r->cache_dir, CONTAINER_CACHE_DIR);
	const size_t own = r->binds[2] != NULL ? 3 : 2;
	char **binds = calloc(own + r->opts.mount_count, sizeof(char *));
	if (binds != NULL && r->binds[0] != NULL && r->binds[1] != NULL) {
		for (size_t i = 0; i < own; i++)
			binds[i] = r->binds[i];
		for (size_t i = 0; i < r->opts.mount_count; i++)
			binds[own + i] = (char *)r->opts.mounts[i];
		r->body = container_body(&r->opts, r->image_id, &r->env, binds,
		                         own + r->opts.mount_count, r->run_id);
	}
	free(binds);
	if (r->body == NULL) {
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	return 0;
}

/* Signals to forward are read from a signalfd from now on, so none is lost
 * between the container's creation and its start. */
static int take_signals(struct run *r)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (r->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		aero_error_set("cannot take over signals");
		return -AERO_EXIT_INTERNAL;
	}
	return 0;
}

static int run_container(struct run *r, int *exit_status)
{
	char *name = aero_path_join("aero", r->run_id);
	if (name == NULL) {
		aero_error_set("out of memory");
		return -AERO_EXIT_INTERNAL;
	}
	name[4] = '-'; /* "aero-RUNID" */
	int rc = aero_container_create(r->eng, name, r->body, &r->container);
	free(name);
	if (rc < 0)
		return rc;
	if (!r->opts.quiet)
		fprintf(stderr, "aero-launch: run %s of %s, recorded in %s\n", r->run_id, r->tag,
		        r->run_dir);
	rc = aero_container_run(r->eng, r->container, r->sigfd, exit_status);
	if (!r->opts.keep)
		aero_container_remove(r->eng, r->container);
	else
		fprintf(stderr, "aero-launch: kept container %.12s\n", r->container);
	return rc;
}

int aero_run_main(int argc, char **argv)
{
	struct run r = {.sigfd = -1};
	int rc = aero_run_opts_parse(argc, argv, &r.opts);
	if (rc != 0) {
		aero_run_opts_free(&r.opts);
		return rc > 0 ? 0 : -rc;
	}
	if (r.opts.dev) {
		rc = aero_dev_run(&r.opts);
		aero_run_opts_free(&r.opts);
		return rc;
	}
	int exit_status = 0;
	rc = aero_check_repository(r.opts.repo, r.opts.allow_unpushed, &r.repo, &r.git);
	if (rc < 0) {
		run_free(&r);
		return -rc; /* already reported */
	}
	rc = build_image(&r);
	if (rc == 0 && r.opts.build_only) {
		printf("%s\n", r.image_id);
		run_free(&r);
		return fflush(stdout) == 0 ? 0 : AERO_EXIT_INTERNAL;
	}
	if (rc == 0)
		rc = prepare_run(&r);
	if (rc == 0)
		rc = take_signals(&r);
	if (rc == 0)
		rc = run_container(&r, &exit_status);
	if (rc < 0)
		aero_log_error("%s", aero_error_last());
	run_free(&r);
	return rc < 0 ? -rc : exit_status;
}
