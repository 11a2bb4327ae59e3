/* An image the engine holds, looked up by name or id. */
#ifndef AERO_HOST_IMAGE_ID_H
#define AERO_HOST_IMAGE_ID_H

#include "engine.h"

/* The id ("sha256:...") of the image ref names (a name, name:tag,
 * name@sha256:... or an id) into *id (malloc'd). 0; -AERO_EXIT_BASE_IMAGE
 * when the engine has no such image; another -AERO_EXIT_* with aero_error set. */
int aero_image_id(const struct aero_engine *eng, const char *ref, char **id);

/* As aero_image_id, and *content gets the fingerprint ("sha256:...") of what
 * the image runs: its layers and its entrypoint, command, environment,
 * working directory and user, not its labels or creation time, so that the
 * same files built at another commit have the same content. */
int aero_image_content(const struct aero_engine *eng, const char *ref, char **id, char **content);

#endif
