/* nvidia-smi's CSV query lines (shim/capture/gpu_smi.c): any text, with the
 * result printed as the manifest would print it. */
#include "probes.h"

#include "canonjson.h"
#include "support.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	cJSON *out = cJSON_CreateObject();
	if (out == NULL)
		abort();
	(void)aero_parse_smi_query(text, out);
	char *printed = aero_json_canonical(out);
	if (printed == NULL)
		abort();
	free(printed);
	cJSON_Delete(out);
	free(text);
	return 0;
}
