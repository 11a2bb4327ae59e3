/* Reports the libraries aero-init is built with, from the libraries themselves
 * (not from headers), so that a test can prove they really are linked in. */
#include "build_info.h"

#include "error.h"
#include "version.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/capability.h>

#ifdef AERO_STATIC
#define AERO_LINKAGE "static"
#else
#define AERO_LINKAGE "dynamic"
#endif

static int add_curl(cJSON *root)
{
	const curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
	cJSON *info = cJSON_AddObjectToObject(root, "libcurl");
	if (info == NULL || curl == NULL)
		return -1;
	cJSON_AddStringToObject(info, "version", curl->version);
	cJSON_AddStringToObject(info, "tls",
	                        curl->ssl_version != NULL ? curl->ssl_version : "none");
	cJSON_AddStringToObject(info, "resolver",
	                        curl->ares != NULL ? "c-ares" : "system (getaddrinfo)");
	if (curl->ares != NULL)
		cJSON_AddStringToObject(info, "c-ares", curl->ares);
	cJSON *protocols = cJSON_AddArrayToObject(info, "protocols");
	for (const char *const *p = curl->protocols; protocols != NULL && *p != NULL; p++)
		cJSON_AddItemToArray(protocols, cJSON_CreateString(*p));
	return 0;
}

static int add_libseccomp(cJSON *root)
{
	const struct scmp_version *v = seccomp_version();
	char text[48];
	(void)snprintf(text, sizeof(text), "%u.%u.%u", v->major, v->minor, v->micro);
	return cJSON_AddStringToObject(root, "libseccomp", text) == NULL ? -1 : 0;
}

/* libcap has no version call; report what it sees: the capability bound and
 * the capabilities this process holds. */
static int add_libcap(cJSON *root)
{
	cJSON *info = cJSON_AddObjectToObject(root, "libcap");
	if (info == NULL)
		return -1;
	cJSON_AddNumberToObject(info, "max_bits", (double)cap_max_bits());
	cap_t caps = cap_get_proc();
	char *text = caps != NULL ? cap_to_text(caps, NULL) : NULL;
	cJSON_AddStringToObject(info, "process", text != NULL ? text : "unknown");
	cap_free(text);
	cap_free(caps);
	return 0;
}

int aero_build_info_print(FILE *out)
{
	cJSON *root = cJSON_CreateObject();
	if (root == NULL)
		return aero_error_set("out of memory");
	cJSON_AddStringToObject(root, "program", "aero-init");
	cJSON_AddStringToObject(root, "version", AERO_VERSION);
	cJSON_AddStringToObject(root, "linkage", AERO_LINKAGE);
	cJSON_AddStringToObject(root, "cjson", cJSON_Version());
	int rc = add_curl(root);
	if (rc == 0)
		rc = add_libseccomp(root);
	if (rc == 0)
		rc = add_libcap(root);
	char *text = rc == 0 ? cJSON_Print(root) : NULL;
	cJSON_Delete(root);
	if (text == NULL)
		return aero_error_set("out of memory while printing build information");
	fprintf(out, "%s\n", text);
	free(text);
	return 0;
}
