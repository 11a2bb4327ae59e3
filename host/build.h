/* Building the experiment's image through the Engine API from a build
 * context, with the engine's progress streamed to the terminal. */
#ifndef AERO_HOST_BUILD_H
#define AERO_HOST_BUILD_H

#include "context.h"
#include "engine.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

struct aero_build_request {
	const char *tag;        /* "project:0123456789ab" */
	const char *dockerfile; /* path inside the context */
	const cJSON *labels;    /* object of string labels */
	const char *network;    /* the RUN steps' network mode; NULL: the engine's */
	bool quiet;             /* keep the engine's output off the terminal */
};

/* Streams ctx to POST /build and follows the progress; *image_id gets the
 * image's id (malloc'd). 0, or -(exit status) with aero_error naming the
 * failing step: AERO_EXIT_BUILD, AERO_EXIT_BASE_IMAGE, AERO_EXIT_DENIED. */
int aero_image_build(const struct aero_engine *eng, struct aero_context *ctx,
                     const struct aero_build_request *req, char **image_id);

#endif
