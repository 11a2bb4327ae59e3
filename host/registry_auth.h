/* The X-Registry-Auth header for a registry, from the credentials `docker login`
 * keeps: DOCKER_AUTH_CONFIG (a config.json's text, as CI systems set it), else
 * $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
#ifndef AERO_HOST_REGISTRY_AUTH_H
#define AERO_HOST_REGISTRY_AUTH_H

/* The header's value for registry ("docker.io" or HOST[:PORT]), malloc'd: the
 * URL-safe base64 of {"username", "password" | "identitytoken", "serveraddress"},
 * or of {} when no credentials are found. NULL with aero_error set on failure. */
char *aero_registry_auth(const char *registry);

/* Sets *out to the X-Registry-Config header's value for a build (the
 * credentials of every registry the configuration names, so that FROM can pull
 * from them), malloc'd: URL-safe base64 of {REGISTRY: {"username", "password" |
 * "identitytoken", "serveraddress"}}; NULL when there are none. 0, or -1 with
 * aero_error set. */
int aero_registry_config(char **out);

#endif
