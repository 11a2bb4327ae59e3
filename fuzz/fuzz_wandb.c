/* The W&B sink's reading of W&B's answers (shim/sinks/wandb.c): GraphQL
 * (UpsertBucket, CreateRunFiles with its upload headers and URL) and
 * file_stream, with statuses, Retry-After and bodies from the input. */
#include "sink_driver.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("WANDB_API_KEY", "0123456789abcdef0123456789abcdef01234567", 1);
	setenv("WANDB_BASE_URL", "http://wandb.invalid", 1);
	setenv("WANDB_PROJECT", "fuzz", 1);
	setenv("WANDB_ENTITY", "fuzzers", 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sink_drive(&aero_sink_wandb, data, size);
	return 0;
}
