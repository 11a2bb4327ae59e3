/* Determinism: the settings that make numeric libraries deterministic, and
 * the sources of nondeterminism that can be seen from here. */
#ifndef AERO_SHIM_DETERMINISM_H
#define AERO_SHIM_DETERMINISM_H

#include "options.h"

#include <cjson/cJSON.h>

/* With opts->deterministic, exports the settings of doc/manifest.md's
 * determinism section, keeping any variable the user set; always lists the
 * warnings that apply, reading CPU and GPU facts from manifest (may be NULL). */
int aero_determinism_apply(const struct aero_init_options *opts, const cJSON *manifest,
                           cJSON *section);

#endif
