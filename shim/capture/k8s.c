/* k8s: the Kubernetes facts a pod can see: the service host the kubelet
 * injects, the namespace of the service account, and the downward-API values
 * that Aeromancy's manifests expose as AERO_POD_* variables (or the common
 * POD_NAME-style names). */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <stdlib.h>

int aero_probe_k8s(const struct aero_capture_ctx *ctx, cJSON *part)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	if (cJSON_AddBoolToObject(part, "in_kubernetes", host != NULL) == NULL)
		return aero_error_set("out of memory");
	if (host == NULL)
		return 0;
	static const struct {
		const char *key;
		const char *vars[3];
	} facts[] = {{"pod_name", {"AERO_POD_NAME", "POD_NAME", "HOSTNAME"}},
	             {"namespace", {"AERO_POD_NAMESPACE", "POD_NAMESPACE", NULL}},
	             {"pod_uid", {"AERO_POD_UID", "POD_UID", NULL}},
	             {"node_name", {"AERO_NODE_NAME", "NODE_NAME", NULL}},
	             {"pod_ip", {"AERO_POD_IP", "POD_IP", NULL}},
	             {"service_account", {"AERO_SERVICE_ACCOUNT", NULL, NULL}}};
	for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++) {
		for (size_t j = 0; j < 3 && facts[i].vars[j] != NULL; j++) {
			const char *value = getenv(facts[i].vars[j]);
			if (value == NULL)
				continue;
			if (aero_json_add_string(part, facts[i].key, value) < 0)
				return -1;
			break;
		}
	}
	if (cJSON_GetObjectItemCaseSensitive(part, "namespace") == NULL) {
		char *ns = aero_root_read(
		        ctx, "/var/run/secrets/kubernetes.io/serviceaccount/namespace", 4096, NULL);
		char *value = ns != NULL ? aero_line_value(ns) : NULL;
		free(ns);
		const int rc = value != NULL ? aero_json_add_string(part, "namespace", value) : 0;
		free(value);
		if (rc < 0)
			return -1;
	}
	return 0;
}
