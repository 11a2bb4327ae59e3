/* An image the engine holds, looked up by name or id. */
#ifndef AERO_HOST_IMAGE_ID_H
#define AERO_HOST_IMAGE_ID_H

#include "engine.h"

/* The id ("sha256:...") of the image ref names (a name, name:tag,
 * name@sha256:... or an id) into *id (malloc'd). 0; -AERO_EXIT_BASE_IMAGE
 * when the engine has no such image; another -AERO_EXIT_* with aero_error set. */
int aero_image_id(const struct aero_engine *eng, const char *ref, char **id);

#endif
