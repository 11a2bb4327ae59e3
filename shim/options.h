/* aero-init's settings: command-line options, each also settable through an
 * AERO_* environment variable (Kubernetes users set env, not args). */
#ifndef AERO_SHIM_OPTIONS_H
#define AERO_SHIM_OPTIONS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit status for aero-init's own errors (bad options, cannot fork): the same
 * convention as `docker run`, so that it never looks like the experiment's. */
#define AERO_EXIT_INTERNAL 125
#define AERO_EXIT_NOT_EXECUTABLE 126
#define AERO_EXIT_NOT_FOUND 127
/* The experiment ran, but some of its records could not be written to the run
 * directory (its disk stayed full); none of those was acknowledged. */
#define AERO_EXIT_UNRECORDED 74

#define AERO_DEFAULT_GRACE_MS 10000L
#define AERO_DEFAULT_SYSTEM_INTERVAL_MS 10000L
#define AERO_MAX_GRACE_MS (24L * 3600L * 1000L)
#define AERO_DEFAULT_TRACKER_INTERVAL_MS 5000L
#define AERO_DEFAULT_TRACKER_TIMEOUT_MS 60000L

/* The highest signal number aero-init handles, real-time signals included. */
#define AERO_SIGNAL_LIMIT 65

enum aero_init_action {
	AERO_INIT_RUN,
	AERO_INIT_HELP,
	AERO_INIT_VERSION,
	AERO_INIT_BUILD_INFO,
};

struct aero_init_options {
	enum aero_init_action action;
	int pdeathsig; /* signal aero-init gets when its parent dies; 0 for none */
	int verbosity; /* an aero_log_level */
	long grace_ms; /* how long descendants get between SIGTERM and SIGKILL */
	unsigned long long seed;
	const char *run_dir;      /* where the run is recorded; NULL for nowhere */
	const char *run_id;       /* AERO_RUN_ID, else drawn (rundir.h) */
	long system_interval_ms;  /* system metrics every so often; 0 for none */
	const char *trackers;     /* AERO_TRACKER: "local", "wandb", "mlflow", comma-separated */
	long tracker_interval_ms; /* deliver to the trackers this often */
	long tracker_timeout_ms;  /* at the end, wait this long for the trackers */
	const char *user;         /* --user USER[:GROUP] for the experiment, or NULL */
	uint64_t caps;            /* --caps: the experiment's capabilities (capnames.h) */
	char **command;           /* NULL-terminated; points into argv */
	/* rewrite[S] is the signal forwarded when S arrives: S itself, another, or 0 to drop. */
	int rewrite[AERO_SIGNAL_LIMIT];
	bool child_only;      /* forward signals to the direct child, not its group */
	bool seed_given;      /* --seed or AERO_SEED; else one is drawn from the OS */
	bool deterministic;   /* export the determinism settings */
	bool capture;         /* capture the environment before the experiment starts */
	bool console;         /* with a run directory, record stdout and stderr in output.log */
	bool record;          /* keep a run directory (the default one when run_dir is NULL) */
	bool hermetic;        /* the experiment may open no network sockets (seccomp) */
	bool allow_new_privs; /* leave no_new_privs unset for the experiment */
	bool remap_exit[256]; /* exit statuses reported as 0 */
};

/* Fills *opts from the AERO_* environment, then argv (options win).
 * Returns 0, or -1 with aero_error naming the bad option or variable. */
int aero_init_options_parse(struct aero_init_options *opts, int argc, char **argv);

/* Prints the --help text, every option beside its environment variable. */
void aero_init_options_usage(FILE *out);

#endif
