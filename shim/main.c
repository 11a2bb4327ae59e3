/* aero-init: PID 1 of Aeromancy's containers. See aero-init(1). */
#include "artifact_cmd.h"
#include "build_info.h"
#include "capture_cmd.h"
#include "diff.h"
#include "error.h"
#include "log.h"
#include "log_cmd.h"
#include "options.h"
#include "rundir.h"
#include "store_cmd.h"
#include "supervise.h"
#include "sync_cmd.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct aero_init_options opts;

	aero_log_init("aero-init", AERO_LOG_WARN);
	/* Commands come first; a program of the same name runs after "--". */
	if (argc > 1 && strcmp(argv[1], "artifact") == 0)
		return aero_artifact_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "capture") == 0)
		return aero_capture_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "diff") == 0)
		return aero_diff_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "log") == 0)
		return aero_log_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "store") == 0)
		return aero_store_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "sync") == 0)
		return aero_sync_main(argc - 1, argv + 1);
	if (aero_init_options_parse(&opts, argc, argv) < 0) {
		aero_log_error("%s; see 'aero-init --help'", aero_error_last());
		return AERO_EXIT_INTERNAL;
	}
	aero_log_init("aero-init", opts.verbosity);

	switch (opts.action) {
	case AERO_INIT_HELP:
		aero_init_options_usage(stdout);
		return 0;
	case AERO_INIT_VERSION:
		printf("aero-init version %s\n", AERO_VERSION);
		return 0;
	case AERO_INIT_BUILD_INFO:
		if (aero_build_info_print(stdout) < 0) {
			aero_log_error("%s", aero_error_last());
			return AERO_EXIT_INTERNAL;
		}
		return 0;
	case AERO_INIT_RUN:
		break;
	}
	if (aero_run_dir_resolve(&opts) < 0) {
		aero_log_error("%s", aero_error_last());
		return AERO_EXIT_INTERNAL;
	}
	return aero_supervise(&opts);
}
