#include "capnames.h"

#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/capability.h>

int aero_caps_last(void)
{
	const int bits = (int)cap_max_bits();
	return bits > 64 ? 63 : bits - 1;
}

/* One name: libcap knows "cap_x" in any case; "x" gets the prefix. */
static int parse_name(const char *name, uint64_t *mask)
{
	char full[64];
	const int len = snprintf(full, sizeof(full), "%s%s",
	                         strncasecmp(name, "cap_", 4) == 0 ? "" : "cap_", name);
	cap_value_t value = -1;
	/* Numbers are not names: libcap takes them, but a list of numbers
	 * means something else on another kernel. */
	if (len <= 0 || (size_t)len >= sizeof(full) || name[strspn(name, "0123456789")] == '\0' ||
	    cap_from_name(full, &value) < 0 || value < 0 || value > aero_caps_last())
		return aero_error_set("'%s' is not a capability this kernel knows (see "
		                      "capabilities(7): cap_net_bind_service, cap_sys_ptrace, ...)",
		                      name);
	*mask |= (uint64_t)1 << value;
	return 0;
}

int aero_caps_parse(const char *list, uint64_t *mask)
{
	*mask = 0;
	if (strcasecmp(list, "none") == 0 || *list == '\0')
		return 0;
	char *copy = strdup(list);
	if (copy == NULL)
		return aero_error_set("out of memory");
	int rc = 0;
	char *save = NULL;
	for (char *name = strtok_r(copy, ", ", &save); name != NULL && rc == 0;
	     name = strtok_r(NULL, ", ", &save))
		rc = parse_name(name, mask);
	free(copy);
	return rc;
}

cJSON *aero_caps_to_json(uint64_t mask)
{
	cJSON *names = cJSON_CreateArray();
	for (int cap = 0; cap < 64 && names != NULL; cap++) {
		if ((mask & ((uint64_t)1 << cap)) == 0)
			continue;
		char *name = cap_to_name(cap);
		cJSON *item = name != NULL ? cJSON_CreateString(name) : NULL;
		cap_free(name);
		if (item == NULL || !cJSON_AddItemToArray(names, item)) {
			cJSON_Delete(item);
			cJSON_Delete(names);
			names = NULL;
		}
	}
	return names;
}
