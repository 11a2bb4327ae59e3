/* The Docker Engine API calls that `aero-launch push` needs (tag, push), over
 * the engine's unix socket (DOCKER_HOST=unix://PATH, else /var/run/docker.sock). */
#ifndef AERO_HOST_ENGINE_PUSH_H
#define AERO_HOST_ENGINE_PUSH_H

/* What aero_engine_push returns when the registry refused the credentials. */
#define AERO_PUSH_DENIED (-2)

/* Tags the local image source as repository:tag. 0, or -1 with aero_error. */
int aero_engine_tag(const char *source, const char *repository, const char *tag);

/* Pushes repository:tag, with auth as the X-Registry-Auth header, and hands back
 * the digest the registry gave it (malloc'd "sha256:..."). 0; AERO_PUSH_DENIED or
 * -1 with aero_error holding the engine's or the registry's reason. */
int aero_engine_push(const char *repository, const char *tag, const char *auth, char **digest);

#endif
