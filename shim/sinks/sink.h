/* The one interface every tracker sink implements. The courier (courier.h)
 * reads the run directory (the spool) from each sink's cursor and hands the
 * sink what is new; the sink delivers it and says whether it got through.
 *
 * A sink must make every delivery idempotent: the courier hands the same
 * records again after any failure, and after a crash between the tracker's
 * answer and the cursor being saved. */
#ifndef AERO_SINKS_SINK_H
#define AERO_SINKS_SINK_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Complete lines of one spool file: `count` lines in text[0..len), each
 * ending in '\n', the first being line `first` (0-based) of the file. */
struct aero_lines {
	const char *text;
	size_t len;
	long first;
	long count;
};

/* What is new since the sink's cursor. Objects are NULL when unchanged. */
struct aero_batch {
	const char *run_dir;
	const cJSON *manifest;       /* manifest.json, always there */
	struct aero_lines metrics;   /* metrics.jsonl */
	struct aero_lines system;    /* system.jsonl */
	struct aero_lines console;   /* output.log */
	struct aero_lines artifacts; /* artifacts.jsonl: the run's artifact gets and puts */
	const cJSON *summary;        /* summary.json when changed */
	const cJSON *config;         /* config.json when changed */
	const cJSON *run;            /* run.json (tags, notes) when changed */
	bool ending;                 /* the run has ended and this is the last of its records */
};

/* The run's outcome, from run.json, for finishing it with the tracker. */
struct aero_outcome {
	bool known;         /* false: aero-init ended without recording one */
	const char *state;  /* "finished", "failed", "killed" */
	const char *signal; /* for "killed": the signal's name ("SIGKILL"), else NULL */
	int exit_status;
	double end_time; /* seconds since the epoch */
};

enum aero_sink_result {
	AERO_SINK_OK = 0, /* delivered: the courier moves the cursor */
	AERO_SINK_RETRY,  /* not delivered, may be tried again (after retry_after_ms if >= 0) */
	AERO_SINK_FAILED, /* refused for good: the courier stops this sink */
};

/* What a sink's functions share with the courier. */
struct aero_sink_ctx {
	const char *run_dir;
	cJSON *remote;       /* the sink's own state, saved with its cursor (run ids...) */
	long retry_after_ms; /* set by a sink returning AERO_SINK_RETRY; -1 for the courier's
	                        backoff */
	bool stop_requested; /* set by a sink when the tracker asks to stop the run */
	bool interactive;    /* aero-init sync: say more on the terminal */
};

struct aero_sink_ops {
	const char *name; /* as in AERO_TRACKER */
	/* Reads its settings (environment); returns the sink's state or NULL with
	 * aero_error saying what to set. */
	void *(*open)(struct aero_sink_ctx *ctx);
	/* Registers the run with the tracker (idempotent, resuming from ctx->remote). */
	enum aero_sink_result (*begin)(void *sink, struct aero_sink_ctx *ctx,
	                               const struct aero_batch *b);
	/* Delivers one batch (possibly empty: a chance to send a heartbeat). */
	enum aero_sink_result (*send)(void *sink, struct aero_sink_ctx *ctx,
	                              const struct aero_batch *b);
	/* Marks the run ended with the tracker, once everything is delivered. */
	enum aero_sink_result (*finish)(void *sink, struct aero_sink_ctx *ctx,
	                                const struct aero_outcome *outcome);
	void (*close)(void *sink);
};

extern const struct aero_sink_ops aero_sink_wandb;
extern const struct aero_sink_ops aero_sink_mlflow;

/* The sink called name, or NULL. */
const struct aero_sink_ops *aero_sink_find(const char *name);

#endif
