/* The courier: feeds the tracker sinks from the run directory (the spool),
 * each from a persistent cursor, with retries and backoff, so that every
 * record reaches every tracker exactly once however often the network, the
 * tracker or aero-init fails. In aero-init it runs on a thread of its own and
 * never holds the experiment up; `aero-init sync` runs it in the foreground. */
#ifndef AERO_SINKS_COURIER_H
#define AERO_SINKS_COURIER_H

#include <stdbool.h>

struct aero_courier;

struct aero_courier_options {
	const char *run_dir;
	const char *trackers; /* "local", "wandb", "mlflow" separated by commas; NULL: those
	                         the run directory names (its sinks/ cursors) */
	long interval_ms;     /* how often to deliver what is new */
	bool stop_on_request; /* a tracker's "stop" sends SIGTERM to this process */
	bool interactive;     /* say what happens on stderr (aero-init sync) */
	/* Called first on the courier's thread, with thread_arg: aero-init
	 * drops that thread's capabilities there (each thread has its own). */
	void (*thread_start)(void *thread_arg);
	void *thread_arg;
};

/* Checks that trackers lists only known sinks; -1 with aero_error otherwise. */
int aero_courier_check_trackers(const char *trackers);

/* Opens the sinks and starts delivering in the background. *courier is NULL
 * when no tracker but the local one is asked for. -1 with aero_error when the
 * run directory's cursors cannot be written. Call with every signal blocked. */
int aero_courier_start(struct aero_courier **courier, const struct aero_courier_options *opts);

/* The run has ended (its outcome is in run.json): delivers what is left and
 * finishes the run with each tracker, giving up after timeout_ms, then stops
 * and frees the courier. Returns the number of trackers not finished. */
int aero_courier_finish(struct aero_courier *courier, long timeout_ms);

/* aero-init sync: delivers a finished run's records and outcome in the
 * foreground within timeout_ms. 0 when every tracker has it all, 1 when one
 * refused it for good, 75 when some are still to be delivered, -1 with
 * aero_error when the run directory cannot be read. */
int aero_courier_sync(const struct aero_courier_options *opts, long timeout_ms);

#endif
