/* Small things the tracker sinks share. */
#ifndef AERO_SINKS_SINKUTIL_H
#define AERO_SINKS_SINKUTIL_H

#include "http.h"
#include "sink.h"

#include <cjson/cJSON.h>

/* Judges a tracker's answer: AERO_SINK_OK for 2xx; otherwise sets aero_error
 * to what failed (what, the status, the start of the answer), the retry delay
 * from Retry-After, and says whether to try again. */
enum aero_sink_result aero_sink_judge(struct aero_sink_ctx *ctx,
                                      const struct aero_http_response *res, const char *what);

/* Prints object as JSON with the strings "NaN", "Infinity" and "-Infinity"
 * among its values written as bare tokens (W&B's lines). NULL when out of memory. */
char *aero_sink_print_specials(const cJSON *object);

/* The string stored under key in the sink's remote state, or NULL. */
const char *aero_sink_remote(const struct aero_sink_ctx *ctx, const char *key);

/* Stores (replacing) a string under key in the sink's remote state. */
void aero_sink_set_remote(struct aero_sink_ctx *ctx, const char *key, const char *value);

/* The string at manifest.section.key, or NULL. */
const char *aero_sink_manifest_string(const cJSON *manifest, const char *section, const char *key);

/* The value of an environment variable, or NULL when unset or empty. */
const char *aero_sink_env(const char *name);

/* Whether the user turned off the check of the MLflow server's certificate
 * (MLFLOW_TRACKING_INSECURE_TLS=true); the manifest records it (run.tls_unverified). */
bool aero_sink_mlflow_insecure_tls(void);

/* Seconds since the epoch from a local console line's time stamp, or 0. */
double aero_sink_parse_utc(const char *text);

#endif
