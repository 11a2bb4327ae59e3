/* system.container: whether we run in a container, and the evidence: a PID
 * namespace other than the initial one, a runtime's marker file, or a
 * runtime's name in our cgroup path. The image's digest is not visible from
 * inside; the launcher passes it in. */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The inode of the initial PID namespace (PROC_PID_INIT_INO). */
#define INITIAL_PID_NAMESPACE 0xEFFFFFFCUL

int aero_probe_container(const struct aero_capture_ctx *ctx, cJSON *part)
{
	cJSON *evidence = aero_json_add_array(part, "evidence");
	if (evidence == NULL)
		return -1;
	const char *runtime = NULL;
	int rc = 0;

	struct stat st;
	if (ctx->live && stat("/proc/self/ns/pid", &st) == 0 && st.st_ino != INITIAL_PID_NAMESPACE)
		rc = aero_json_append_string(evidence, "pid namespace");

	static const struct {
		const char *file, *runtime;
	} markers[] = {{"/.dockerenv", "docker"}, {"/run/.containerenv", "podman"}};
	for (size_t i = 0; rc == 0 && i < sizeof(markers) / sizeof(markers[0]); i++) {
		char *path = aero_root_path(ctx, markers[i].file);
		if (path == NULL)
			return -1;
		if (stat(path, &st) == 0) {
			rc = aero_json_append_string(evidence, markers[i].file);
			runtime = markers[i].runtime;
		}
		free(path);
	}

	static const char *const cgroup_markers[] = {"kubepods", "docker", "containerd", "podman",
	                                             "libpod",   "lxc",    "crio"};
	char *cgroup = ctx->live ? aero_root_read(ctx, "/proc/self/cgroup", (size_t)64 * 1024, NULL)
	                         : NULL;
	for (size_t i = 0; rc == 0 && cgroup != NULL && i < sizeof(cgroup_markers) / sizeof(char *);
	     i++) {
		if (strstr(cgroup, cgroup_markers[i]) == NULL)
			continue;
		rc = aero_json_append_string(evidence, cgroup_markers[i]);
		if (runtime == NULL)
			runtime = cgroup_markers[i];
	}
	free(cgroup);
	if (rc < 0)
		return -1;
	const bool inside = cJSON_GetArraySize(evidence) > 0;
	if (cJSON_AddBoolToObject(part, "in_container", inside) == NULL)
		return aero_error_set("out of memory");
	return runtime != NULL ? aero_json_add_string(part, "runtime", runtime) : 0;
}
