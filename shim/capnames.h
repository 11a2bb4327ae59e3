/* Capability names (cap_net_bind_service) and the bit masks aero-init keeps
 * capability sets in, through libcap's table of names. */
#ifndef AERO_SHIM_CAPNAMES_H
#define AERO_SHIM_CAPNAMES_H

#include <cjson/cJSON.h>
#include <stdint.h>

/* Parses a comma-separated list of capability names, with or without the
 * cap_ prefix, in any case (CAP_SYS_PTRACE, net_bind_service), or "none",
 * into a mask (bit N for capability N). 0, or -1 with aero_error naming the
 * unknown name. */
int aero_caps_parse(const char *list, uint64_t *mask);

/* The names of the capabilities in mask as a new JSON array, lowest number
 * first (a number when libcap has no name for it); NULL when out of memory. */
cJSON *aero_caps_to_json(uint64_t mask);

/* The kernel's highest capability number (at most 63). */
int aero_caps_last(void);

#endif
