/* /etc/os-release (shim/capture/os.c): any text, with the
 * result printed as the manifest would print it. */
#include "probes.h"

#include "support.h"

#include <stdbool.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_text_parser(data, size, aero_parse_os_release, false);
}
