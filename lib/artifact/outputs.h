/* The run's outputs by name: RUN_DIR/outputs/NAME holds "sha256:<hex>", the
 * manifest digest of the latest version of NAME the run put, so that an
 * orchestrator (Argo's outputs.parameters, doc/argo.md) can hand exactly that
 * version to the tasks that follow. */
#ifndef AERO_ARTIFACT_OUTPUTS_H
#define AERO_ARTIFACT_OUTPUTS_H

#include <cjson/cJSON.h>

/* The directory under a run directory that holds the files. */
#define AERO_ARTIFACT_OUTPUTS_DIR "outputs"

/* When record (a journal line, parsed) is a put, writes run_dir/outputs/NAME
 * atomically with its digest; anything else is left alone. 0, or -1 with
 * aero_error set. */
int aero_artifact_outputs_note(const char *run_dir, const cJSON *record);

#endif
