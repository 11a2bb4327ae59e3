/* system.rlimits: the resource limits the experiment inherits (running
 * system only: limits belong to processes, not to trees). */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <sys/resource.h>

int aero_probe_limits(const struct aero_capture_ctx *ctx, cJSON *part)
{
	if (!ctx->live)
		return aero_error_set("not captured: limits are the running system's");
	static const struct {
		int resource;
		const char *name;
	} limits[] = {
	        {RLIMIT_NOFILE, "nofile"},   {RLIMIT_NPROC, "nproc"}, {RLIMIT_STACK, "stack"},
	        {RLIMIT_MEMLOCK, "memlock"}, {RLIMIT_AS, "as"},       {RLIMIT_CORE, "core"},
	        {RLIMIT_CPU, "cpu"},         {RLIMIT_DATA, "data"},   {RLIMIT_FSIZE, "fsize"}};
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct rlimit rl;
		if (getrlimit(limits[i].resource, &rl) < 0)
			continue;
		cJSON *limit = aero_json_add_object(part, limits[i].name);
		if (limit == NULL)
			return -1;
		const struct {
			const char *key;
			rlim_t value;
		} ends[] = {{"soft", rl.rlim_cur}, {"hard", rl.rlim_max}};
		for (size_t j = 0; j < 2; j++) {
			const int rc =
			        ends[j].value == RLIM_INFINITY
			                ? aero_json_add_string(limit, ends[j].key, "unlimited")
			                : aero_json_add_number(limit, ends[j].key,
			                                       (double)ends[j].value);
			if (rc < 0)
				return -1;
		}
	}
	return 0;
}
