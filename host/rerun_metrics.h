/* A run's final metrics, and two runs' compared: what `aero-launch rerun`
 * reports after running a past run again. */
#ifndef AERO_HOST_RERUN_METRICS_H
#define AERO_HOST_RERUN_METRICS_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>

/* The final values of the run in run_dir as an object KEY -> the value's JSON
 * text as recorded: the last value of each key in metrics.jsonl (keys that
 * start with '_', the step and the times, left out) and each value of
 * summary.json as "summary.KEY". Missing files give none. NULL with aero_error
 * set when out of memory or a file cannot be read. */
cJSON *aero_run_final_metrics(const char *run_dir);

/* The comparison of two runs' final metrics, sorted by key:
 * {"KEY": {"old": TEXT or null, "new": TEXT or null, "same": BOOL}}, where the
 * same means the same JSON text. *differences counts the keys that are not the
 * same. NULL when out of memory. */
cJSON *aero_metrics_compare(const cJSON *old, const cJSON *fresh, size_t *differences);

/* Prints a comparison as a table: same, different (old -> new), or only in one. */
void aero_metrics_print(const cJSON *comparison, FILE *out);

#endif
