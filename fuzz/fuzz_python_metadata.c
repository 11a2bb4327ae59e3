/* A Python distribution's METADATA / PKG-INFO header (shim/capture/python.c):
 * any text; a name and a version come back together or not at all. */
#include "probes.h"

#include "support.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	char *name = NULL, *version = NULL;
	const int rc = aero_parse_python_metadata(text, &name, &version);
	if ((rc == 0) != (name != NULL && version != NULL) || (rc != 0 && (name || version)))
		abort();
	if (rc == 0 && (strlen(name) > size || strlen(version) > size))
		abort();
	free(name);
	free(version);
	free(text);
	return 0;
}
