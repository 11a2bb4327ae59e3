/* What `aero-launch rerun` says after the run: the image, the environment's
 * differences and the final metrics, as text or JSON; and its exit status. */
#ifndef AERO_HOST_RERUN_REPORT_H
#define AERO_HOST_RERUN_REPORT_H

#include <stdbool.h>

struct aero_rerun_outcome {
	const char *old_dir, *new_dir; /* the two run directories */
	const char *old_id, *new_id;
	const char *recorded_image; /* the image id the run recorded; NULL when none */
	bool image_reused;          /* run with --image-id (else rebuilt) */
	int run_status;             /* the rerun's own exit status */
	bool json;                  /* one JSON object on stdout instead of text */
};

/* Compares the two runs and prints the result. The exit status of rerun: the
 * rerun's own when it failed; else 0 when the final metrics are the same, 1
 * when they differ; AERO_EXIT_INTERNAL when they cannot be compared. */
int aero_rerun_report(const struct aero_rerun_outcome *o);

#endif
