/* The MLflow sink's reading of MLflow's answers (shim/sinks/mlflow.c):
 * experiments/get-by-name and create, runs/create, the manifest's upload,
 * log-batch and runs/update, with their error codes, statuses and
 * Retry-After from the input. */
#include "sink_driver.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("MLFLOW_TRACKING_URI", "http://mlflow.invalid/", 1);
	setenv("MLFLOW_EXPERIMENT_NAME", "fuzz", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sink_drive(&aero_sink_mlflow, data, size);
	return 0;
}
