#include "registry_auth.h"

#include "base64.h"
#include "error.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_MAX ((size_t)4 * 1024 * 1024)

/* The text of the configuration, or NULL: *missing says whether there is none. */
static char *config_text(int *missing)
{
	*missing = 0;
	const char *inline_config = getenv("DOCKER_AUTH_CONFIG");
	if (inline_config != NULL && inline_config[0] != '\0') {
		char *copy = strdup(inline_config);
		if (copy == NULL)
			aero_error_set("out of memory");
		return copy;
	}
	char *path = NULL;
	const char *dir = getenv("DOCKER_CONFIG");
	const char *home = getenv("HOME");
	int n = -1;
	if (dir != NULL && dir[0] != '\0')
		n = asprintf(&path, "%s/config.json", dir);
	else if (home != NULL && home[0] != '\0')
		n = asprintf(&path, "%s/.docker/config.json", home);
	if (n < 0) {
		*missing = 1;
		return NULL;
	}
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		*missing = errno == ENOENT;
		if (!*missing)
			aero_error_set("cannot read %s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	char *text = malloc(CONFIG_MAX + 1);
	const size_t used = text != NULL ? fread(text, 1, CONFIG_MAX, f) : 0;
	const int failed = ferror(f);
	fclose(f);
	if (text == NULL || failed) {
		aero_error_set(text == NULL ? "out of memory" : "cannot read %s", path);
		free(text);
		free(path);
		return NULL;
	}
	free(path);
	text[used] = '\0';
	return text;
}

/* The configuration's "auths" (NULL when absent), which must be an object
 * whose keys name registries: a list there has entries with no key. 0, or -1
 * with aero_error set. */
static int auths_of(const cJSON *config, const cJSON **auths)
{
	*auths = cJSON_GetObjectItemCaseSensitive(config, "auths");
	if (*auths == NULL || cJSON_IsObject(*auths))
		return 0;
	*auths = NULL;
	return aero_error_set("the Docker configuration's \"auths\" is not an object of "
	                      "registries; fix it (DOCKER_AUTH_CONFIG or config.json) or log in "
	                      "again with 'docker login'");
}

/* The entry of "auths" for registry: keys are written as HOST, as https://HOST/...,
 * and for Docker Hub as https://index.docker.io/v1/. */
static const cJSON *find_entry(const cJSON *auths, const char *registry)
{
	const char *hub = strcmp(registry, "docker.io") == 0 ? "index.docker.io" : registry;
	const size_t length = strlen(hub);
	for (const cJSON *entry = auths != NULL ? auths->child : NULL; entry != NULL;
	     entry = entry->next) {
		const char *key = entry->string;
		if (strncmp(key, "https://", 8) == 0)
			key += 8;
		else if (strncmp(key, "http://", 7) == 0)
			key += 7;
		if (strncmp(key, hub, length) == 0 && (key[length] == '\0' || key[length] == '/'))
			return entry;
		if (strcmp(registry, "docker.io") == 0 && strcmp(key, "docker.io") == 0)
			return entry;
	}
	return NULL;
}

static const char *string_of(const cJSON *object, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(object, key);
	return cJSON_IsString(item) && item->valuestring[0] != '\0' ? item->valuestring : NULL;
}

/* Fills header (an object) from entry: "auth" is base64 of USER:PASSWORD. */
static int fill_credentials(cJSON *header, const cJSON *entry, const char *registry)
{
	const char *auth = string_of(entry, "auth");
	const char *token = string_of(entry, "identitytoken");
	const char *user = string_of(entry, "username");
	const char *password = string_of(entry, "password");
	unsigned char *decoded = NULL;
	if (auth != NULL) {
		size_t count = 0;
		decoded = aero_base64_decode(auth, &count);
		char *colon = decoded != NULL ? strchr((char *)decoded, ':') : NULL;
		if (colon == NULL) {
			free(decoded);
			return aero_error_set(
			        "the credentials for %s in the Docker configuration are "
			        "not base64 of USER:PASSWORD; log in again",
			        registry);
		}
		*colon = '\0';
		user = (const char *)decoded;
		password = colon + 1;
	}
	int rc = 0;
	if ((token != NULL && cJSON_AddStringToObject(header, "identitytoken", token) == NULL) ||
	    (user != NULL && cJSON_AddStringToObject(header, "username", user) == NULL) ||
	    (password != NULL && cJSON_AddStringToObject(header, "password", password) == NULL) ||
	    cJSON_AddStringToObject(header, "serveraddress", registry) == NULL)
		rc = aero_error_set("out of memory");
	free(decoded);
	return rc;
}

char *aero_registry_auth(const char *registry)
{
	int missing = 0;
	char *text = config_text(&missing);
	if (text == NULL && !missing)
		return NULL;
	const int have_text = text != NULL;
	cJSON *config = have_text ? cJSON_Parse(text) : NULL;
	free(text);
	if (have_text && config == NULL) {
		aero_error_set(
		        "the Docker configuration (DOCKER_AUTH_CONFIG or config.json) is not "
		        "JSON");
		return NULL;
	}
	cJSON *header = cJSON_CreateObject();
	const cJSON *auths = NULL;
	int rc = header != NULL ? auths_of(config, &auths) : aero_error_set("out of memory");
	const cJSON *entry = find_entry(auths, registry);
	if (rc == 0 && entry != NULL)
		rc = fill_credentials(header, entry, registry);
	else if (rc == 0 && (cJSON_GetObjectItemCaseSensitive(config, "credsStore") != NULL ||
	                     cJSON_GetObjectItemCaseSensitive(config, "credHelpers") != NULL))
		aero_log_warn("the Docker configuration keeps credentials in a helper program, "
		              "which aero-launch does not run; if the push is refused, set "
		              "DOCKER_AUTH_CONFIG='{\"auths\":{\"%s\":{\"auth\":\"BASE64\"}}}'",
		              registry);
	char *json = rc == 0 ? cJSON_PrintUnformatted(header) : NULL;
	char *out =
	        json != NULL ? aero_base64_encode((unsigned char *)json, strlen(json), true) : NULL;
	if (rc == 0 && json == NULL)
		aero_error_set("out of memory");
	cJSON_free(json);
	cJSON_Delete(header);
	cJSON_Delete(config);
	return out;
}

/* The entry key's registry: HOST[:PORT], without scheme or path. */
static char *registry_of(const char *key)
{
	if (strncmp(key, "https://", 8) == 0)
		key += 8;
	else if (strncmp(key, "http://", 7) == 0)
		key += 7;
	char *host = strndup(key, strcspn(key, "/"));
	if (host != NULL && strcmp(host, "index.docker.io") == 0) {
		free(host);
		host = strdup("https://index.docker.io/v1/"); /* the engine's name for Docker Hub */
	}
	return host;
}

int aero_registry_config(char **out)
{
	*out = NULL;
	int missing = 0;
	char *text = config_text(&missing);
	if (text == NULL)
		return missing ? 0 : -1;
	cJSON *config = cJSON_Parse(text);
	free(text);
	if (config == NULL) {
		return aero_error_set(
		        "the Docker configuration (DOCKER_AUTH_CONFIG or config.json) "
		        "is not JSON");
	}
	cJSON *all = cJSON_CreateObject();
	const cJSON *auths = NULL;
	int rc = all != NULL ? auths_of(config, &auths) : aero_error_set("out of memory");
	for (const cJSON *entry = auths != NULL ? auths->child : NULL; rc == 0 && entry != NULL;
	     entry = entry->next) {
		char *registry = registry_of(entry->string);
		cJSON *one = registry != NULL ? cJSON_AddObjectToObject(all, registry) : NULL;
		rc = one == NULL ? aero_error_set("out of memory")
		                 : fill_credentials(one, entry, registry);
		free(registry);
	}
	char *json =
	        rc == 0 && all != NULL && all->child != NULL ? cJSON_PrintUnformatted(all) : NULL;
	*out = json != NULL ? aero_base64_encode((unsigned char *)json, strlen(json), true) : NULL;
	if (json != NULL && *out == NULL)
		rc = aero_error_set("out of memory");
	cJSON_free(json);
	cJSON_Delete(all);
	cJSON_Delete(config);
	return rc;
}
