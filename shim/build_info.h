/* `aero-init --build-info`: what this binary is made of. */
#ifndef AERO_SHIM_BUILD_INFO_H
#define AERO_SHIM_BUILD_INFO_H

#include <stdio.h>

/* Prints the version, the linkage and each linked library's version as JSON. */
int aero_build_info_print(FILE *out);

#endif
