/* Comparing two run manifests: what differs, grouped the way a person asks
 * ("which packages changed? is it the driver? the CPU?"). */
#ifndef AERO_SHIM_DIFF_H
#define AERO_SHIM_DIFF_H

#include <cjson/cJSON.h>
#include <stdio.h>

/* The changes from manifest a to b, as an array of {group, what, kind, name,
 * from, to}; the run section and the fingerprint are not compared. NULL when
 * out of memory. */
cJSON *aero_manifest_diff(const cJSON *a, const cJSON *b);

/* Prints changes (from aero_manifest_diff) for a person, grouped; 0, or -1
 * with aero_error set. Exposed for the fuzz harness, which diffs any two texts. */
int aero_manifest_diff_print(const cJSON *changes, FILE *out);

/* `aero-init diff A.json B.json [--json]`: 0 when equivalent, 1 when they
 * differ, 125 on bad input. argv[0] is "diff". */
int aero_diff_main(int argc, char **argv);

#endif
