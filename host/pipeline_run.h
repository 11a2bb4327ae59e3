/* `aero-launch pipeline run`: the tasks of a pipeline file in dependency
 * order, each a tracked run of its own, up-to-date ones skipped. */
#ifndef AERO_HOST_PIPELINE_RUN_H
#define AERO_HOST_PIPELINE_RUN_H

/* argv[0] is "run". 0 when every task ran or was up to date; 81 when one
 * failed or could not run; 2 usage; a launcher status (doc: aero-launch(1))
 * when the checkout or the image is not fit to run. */
int aero_pipeline_run_main(int argc, char **argv);

#endif
