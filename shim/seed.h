/* Seeds: one base seed per run, per-purpose seeds derived from it by hashing,
 * exported through the variables that libraries read at start-up. */
#ifndef AERO_SHIM_SEED_H
#define AERO_SHIM_SEED_H

#include "options.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* The seed for a purpose ("python-hash", "global"), and for a task when the
 * run is a pipeline task (NULL otherwise): SplitMix64 mixing of the base and
 * an FNV-1a hash of ("aeromancy-seed-v1", purpose, task). */
uint64_t aero_seed_derive(uint64_t base, const char *purpose, const char *task);

/* Picks the base seed (the option's, or one drawn from the OS), exports
 * AERO_SEED, PYTHONHASHSEED and PL_GLOBAL_SEED unless the user set them, and
 * records it all in section. Returns 0, or -1 with aero_error set. */
int aero_seed_apply(const struct aero_init_options *opts, cJSON *section);

#endif
