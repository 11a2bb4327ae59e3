/* AERO_CONFIG: the settings a launcher gives a run (a pipeline task's
 * "config"), recorded in config.json before the experiment starts, as if the
 * experiment had sent them itself; the experiment reads the same variable. */
#ifndef AERO_SHIM_ENV_CONFIG_H
#define AERO_SHIM_ENV_CONFIG_H

#include "spool.h"

/* Merges AERO_CONFIG's JSON object into the spool's config.json; 0 when the
 * variable is unset or empty, -1 with aero_error naming the fix when it is
 * not a JSON object. */
int aero_env_config_apply(struct aero_spool *spool);

#endif
