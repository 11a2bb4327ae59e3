/* A YAML emitter for documents held as cJSON trees: block style, two-space
 * indents, strings plain only when no YAML 1.1 or 1.2 reader can take them for
 * anything but that string, double-quoted with escapes otherwise. */
#ifndef AERO_HOST_YAML_H
#define AERO_HOST_YAML_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>

/* Writes doc (an object or array) to out as one YAML document, "---" first.
 * Returns 0, or -1 with aero_error set (a string that is not UTF-8, a write error). */
int aero_yaml_write(FILE *out, const cJSON *doc);

/* True when text can be written as a plain scalar and read back as the same string. */
bool aero_yaml_plain_safe(const char *text);

#endif
