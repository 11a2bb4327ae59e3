/* The two Docker Engine API calls that `aero-launch push` needs (tag, push), over
 * engine.c's transport. Both return 0 or a negative aero_launch_status with
 * aero_error set, as build.c's calls do. */
#ifndef AERO_HOST_ENGINE_PUSH_H
#define AERO_HOST_ENGINE_PUSH_H

#include "engine.h"

/* Tags the local image source as repository:tag. 0; -AERO_EXIT_BASE_IMAGE when
 * there is no image source, -AERO_EXIT_ENGINE when the engine stopped answering,
 * -AERO_EXIT_INTERNAL when it refused for another reason or memory ran out. */
int aero_image_tag(const struct aero_engine *eng, const char *source, const char *repository,
                   const char *tag);

/* Pushes repository:tag, with auth as the X-Registry-Auth header, and hands back
 * the digest the registry gave it (malloc'd "sha256:..."). 0; -AERO_EXIT_DENIED
 * when the registry refused the credentials, -AERO_EXIT_BASE_IMAGE when there is
 * no image so tagged, -AERO_EXIT_ENGINE when the engine stopped answering,
 * -AERO_EXIT_INTERNAL otherwise; aero_error holds the engine's or registry's reason. */
int aero_image_push(const struct aero_engine *eng, const char *repository, const char *tag,
                    const char *auth, char **digest);

#endif
