/* aero-init sync: delivers what a run's trackers do not have yet, from the
 * run directory, exactly once, and finishes the run with them. It can be
 * interrupted and run again at any point: each tracker's cursor in
 * RUN_DIR/sinks/ says how far it got. */
#include "sync_cmd.h"

#include "courier.h"
#include "error.h"
#include "log.h"
#include "options.h"
#include "parse.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(FILE *out)
{
	fputs("Usage: aero-init sync [--tracker LIST] [--timeout DURATION] RUN_DIR\n"
	      "\n"
	      "Delivers the records of the run recorded in RUN_DIR that its trackers do not\n"
	      "have yet, and finishes the run with them; safe to interrupt and repeat.\n"
	      "Without --tracker, to the trackers the run was started with (AERO_TRACKER).\n"
	      "Credentials come from the environment, as for the run (WANDB_*, MLFLOW_*).\n"
	      "  --tracker LIST      wandb, mlflow, or both separated by a comma\n"
	      "  --timeout DURATION  give up after this long (default 10m)\n"
	      "Exit status: 0 delivered, 1 a tracker refused the records or is not set up,\n"
	      "75 not everything delivered in time (run it again), 125 bad input.\n",
	      out);
}

int aero_sync_main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"tracker", required_argument, NULL, 't'},
	        {"timeout", required_argument, NULL, 'T'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct aero_courier_options opts = {.interval_ms = 1000, .interactive = true};
	long timeout_ms = 600000;
	int verbosity = AERO_LOG_WARN;
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+t:T:vh", options, NULL)) != -1) {
		switch (c) {
		case 't':
			opts.trackers = optarg;
			break;
		case 'T':
			if (aero_parse_duration_ms(optarg, 7L * 24 * 3600 * 1000, &timeout_ms) <
			    0) {
				aero_log_error("--timeout: %s", aero_error_last());
				return AERO_EXIT_INTERNAL;
			}
			break;
		case 'v':
			verbosity++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return AERO_EXIT_INTERNAL;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return AERO_EXIT_INTERNAL;
	}
	aero_log_init("aero-init sync", verbosity);
	opts.run_dir = argv[optind];
	const int rc = aero_courier_sync(&opts, timeout_ms);
	if (rc < 0) {
		aero_log_error("%s", aero_error_last());
		return AERO_EXIT_INTERNAL;
	}
	return rc;
}
