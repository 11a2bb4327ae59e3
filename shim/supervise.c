/* aero-init's supervisor. Read aero_supervise() top to bottom for the life of
 * a run; each duty below is one small function.
 *
 * All signals stay blocked in aero-init and arrive through a signalfd, so none
 * can interrupt it half-way, none kills it (not even a SEGV sent with kill, nor
 * any signal when it is PID 1 with default dispositions), and one poll() loop
 * serves signals and the grace-period timer alike. */
#include "supervise.h"

#include "channel.h"
#include "clock.h"
#include "console.h"
#include "courier.h"
#include "descendants.h"
#include "env_config.h"
#include "error.h"
#include "experiment_spawn.h"
#include "log.h"
#include "prepare.h"
#include "privileges.h"
#include "room_wait.h"
#include "signame.h"
#include "spool.h"
#include "sysmetrics.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* The signalfd, the console's pipes, the channel's socket and up to its limit of clients. */
#define POLL_MAX 1100

/* After SIGKILL, how often to look again for processes forked meanwhile. */
#define KILL_RETRY_MS 100

struct supervisor {
	const struct aero_init_options *opts;
	int signal_fd;
	pid_t child;              /* the experiment's main process and process group */
	bool shell_tty;           /* the child is the foreground group of our shell's terminal */
	bool child_running;       /* not yet reaped */
	int child_status;         /* waitpid() status once reaped */
	bool winding_down;        /* SIGTERM sent to what is left; waiting for the grace period */
	bool killing;             /* the grace period is over: SIGKILL until nothing is left */
	int64_t deadline_ms;      /* CLOCK_MONOTONIC; 0 when no grace period runs */
	struct aero_spool *spool; /* the run directory's records, when there is one */
	struct aero_channel *channel; /* where the experiment sends them */
	struct aero_console *console; /* its stdout and stderr, passed on and recorded */
	struct aero_courier *courier; /* feeds the trackers from the run directory */
	struct aero_sysmetrics metrics;
	int64_t next_sample_ms; /* CLOCK_MONOTONIC; 0 when system metrics are off */
	bool sampling_failed;   /* the last sample was not recorded (and that was said) */
	bool done;
};

/* The courier's thread gives up what aero-init does not keep (privileges.h). */
static void drop_thread_privileges(void *arg)
{
	if (aero_privileges_drop_own(arg) < 0)
		aero_log_warn("the tracker thread cannot drop its capabilities: %s",
		              strerror(errno));
}

/* Decides what the experiment may do before anything starts; a refusal is
 * aero-init's error (125), said before anything is recorded. */
static int plan_privileges(const struct aero_init_options *opts, struct aero_privileges *p)
{
	if (aero_privileges_prepare(p, opts) < 0) {
		aero_log_error("%s", aero_error_last());
		return AERO_EXIT_INTERNAL;
	}
	if (p->filter != NULL)
		aero_log_notice("hermetic run: the experiment cannot open network sockets; its "
		                "declared inputs come through 'aero-init artifact get'");
	/* A same-user experiment must not ptrace aero-init, which it could make
	 * open sockets for it or use capabilities it was denied. */
	if ((p->own_reduce || p->filter != NULL) && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		aero_log_warn("cannot make aero-init non-dumpable: %s", strerror(errno));
	return 0;
}

/* The experiment has started: aero-init keeps only what it needs (doc/security.md). */
static void drop_own_privileges(const struct aero_privileges *p)
{
	if (aero_privileges_drop_own(p) < 0)
		aero_log_warn("cannot drop aero-init's own capabilities: %s", strerror(errno));
}

static const char *signal_name(int sig)
{
	static char buf[32];
	return aero_signal_name(sig, buf, sizeof(buf));
}

/* Blocks every signal and opens a signalfd for all that can be caught. */
static int take_over_signals(struct supervisor *s)
{
	sigset_t all;
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
		return -1;
	/* A blocked signal is queued even when its disposition is "ignore", so the
	 * inherited dispositions can stay, but one: SIGCHLD ignored would make the
	 * kernel reap children itself and hide the experiment's exit status. */
	(void)signal(SIGCHLD, SIG_DFL);
	s->signal_fd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
	return s->signal_fd < 0 ? -1 : 0;
}

/* Orphans of the experiment must come back to us to be reaped; PID 1 gets them
 * anyway, anything else must ask. Silently: this is normal, not a warning. */
static void become_subreaper(void)
{
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		aero_log_warn("cannot become a child subreaper (%s); orphans of the experiment "
		              "will not be reaped by aero-init",
		              strerror(errno));
}

static void handle_signal(struct supervisor *s, int sig);

/* The parent-death signal; when the parent is already gone, act on it now. */
static void arm_parent_death_signal(struct supervisor *s)
{
	const int sig = s->opts->pdeathsig;
	if (sig == 0)
		return;
	const pid_t parent = getppid();
	if (prctl(PR_SET_PDEATHSIG, sig) < 0) {
		aero_log_warn("cannot set the parent-death signal: %s", strerror(errno));
		return;
	}
	if (getppid() != parent)
		handle_signal(s, sig);
}

/* Sends sig to the experiment: its process group, or the child alone. Once
 * the main process is gone, to every descendant left. */
static void forward(struct supervisor *s, int sig)
{
	if (!s->child_running) {
		if (aero_descendants_signal(sig) < 0)
			(void)kill(-s->child, sig);
		return;
	}
	if (s->opts->child_only || (kill(-s->child, sig) < 0 && errno == ESRCH))
		(void)kill(s->child, sig);
}

/* Starts the grace period unless one runs already; a later request never
 * extends an earlier deadline. */
static void start_grace_period(struct supervisor *s)
{
	const int64_t deadline = aero_clock_monotonic_ms() + s->opts->grace_ms;
	if (s->deadline_ms == 0 || deadline < s->deadline_ms)
		s->deadline_ms = deadline;
}

/* The main process is gone: SIGTERM (and SIGCONT, so that stopped ones can act
 * on it) to every descendant left, then wait for them up to the grace period. */
static void wind_down(struct supervisor *s)
{
	s->winding_down = true;
	const long left = aero_descendants_signal(SIGTERM);
	if (left == 0)
		return;
	(void)aero_descendants_signal(SIGCONT);
	start_grace_period(s);
	aero_log_info("main process exited; sent SIGTERM to the processes left, waiting up to "
	              "%ld ms for them",
	              s->opts->grace_ms);
}

/* Started from an interactive shell, the experiment was stopped from the
 * terminal (Ctrl-Z): stop aero-init too, so that the shell sees its job stop.
 * When the shell continues us (fg, bg), continue the experiment and give the
 * terminal back to it. */
static void stop_with_the_child(const struct supervisor *s)
{
	aero_log_debug("the experiment stopped; stopping with it");
	(void)kill(getpid(), SIGSTOP); /* returns once the shell continues us */
	if (tcgetpgrp(STDIN_FILENO) == getpgrp())
		(void)tcsetpgrp(STDIN_FILENO, s->child);
	(void)kill(-s->child, SIGCONT);
}

/* Reaps every child that has exited, orphans included. */
static void reap(struct supervisor *s)
{
	for (;;) {
		int status;
		const pid_t pid = waitpid(-1, &status, WNOHANG | WUNTRACED);
		if (pid > 0 && WIFSTOPPED(status)) {
			if (pid == s->child && s->shell_tty)
				stop_with_the_child(s);
			continue;
		}
		if (pid > 0) {
			if (pid == s->child) {
				s->child_running = false;
				s->child_status = status;
				aero_log_info("main process %d ended with status %d", (int)pid,
				              aero_exit_status(s->opts, status));
			} else if (!aero_channel_child_ended(s->channel, pid, status)) {
				aero_log_debug("reaped process %d", (int)pid);
			}
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0 && errno == ECHILD && !s->child_running)
			s->done = true; /* no children left means no descendants left */
		break;
	}
	if (!s->child_running && !s->winding_down && !s->done)
		wind_down(s);
}

/* The experiment runs in a session of its own, so its process group is
 * orphaned and the kernel discards SIGTSTP, SIGTTIN and SIGTTOU whose action
 * is the default (stop). Do what that default would have done: send SIGSTOP.
 * A process that catches or ignores the signal gets it unchanged. */
static int job_control_signal(const struct supervisor *s, int sig)
{
	if ((sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU) || !s->child_running ||
	    s->shell_tty)
		return sig;
	return aero_process_has_default_action(s->child, sig) ? SIGSTOP : sig;
}

/* A signal for aero-init: reap on SIGCHLD, otherwise rewrite and forward. */
static void handle_signal(struct supervisor *s, int sig)
{
	if (sig == SIGCHLD) {
		reap(s);
		return;
	}
	const int target = sig < AERO_SIGNAL_LIMIT ? s->opts->rewrite[sig] : sig;
	if (target == 0) {
		aero_log_debug("dropping %s", signal_name(sig));
		return;
	}
	const int sent = job_control_signal(s, target);
	aero_log_info("forwarding %s", signal_name(sent));
	forward(s, sent);
	if (target == SIGTERM)
		forward(s, SIGCONT); /* a stopped process cannot act on SIGTERM */
	if (sig == SIGTERM || sig == SIGINT)
		start_grace_period(s);
}

/* Reads every pending signal from the signalfd. */
static void drain_signals(struct supervisor *s)
{
	struct signalfd_siginfo info[16];
	ssize_t n;
	while ((n = read(s->signal_fd, info, sizeof(info))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(info[0]); i++) {
			const int sig = (int)info[i].ssi_signo;
			/* A SIGPIPE that aero-init caused itself, writing to a closed
			 * stderr, is not the experiment's business. (SIGTTOU never comes
			 * of our own writes: the kernel does not send it while blocked.) */
			const bool own = sig == SIGPIPE && info[i].ssi_code == SI_USER &&
			                 (pid_t)info[i].ssi_pid == getpid();
			if (!own)
				handle_signal(s, sig);
		}
	}
}

/* The grace period is over: SIGKILL everything left, again until it is gone. */
static void kill_the_rest(struct supervisor *s)
{
	if (!s->killing)
		aero_log_warn("grace period of %ld ms is over; killing the processes left",
		              s->opts->grace_ms);
	s->killing = true;
	if (s->child_running)
		(void)kill(-s->child, SIGKILL);
	if (aero_descendants_signal(SIGKILL) < 0 && s->child_running)
		(void)kill(s->child, SIGKILL);
	s->deadline_ms = aero_clock_monotonic_ms() + KILL_RETRY_MS;
}

/* Records one sample of system metrics when one is due. */
static void sample_system(struct supervisor *s)
{
	if (s->next_sample_ms == 0 || aero_clock_monotonic_ms() < s->next_sample_ms)
		return;
	s->next_sample_ms = aero_clock_monotonic_ms() + s->opts->system_interval_ms;
	cJSON *row = cJSON_CreateObject();
	const bool failed = row == NULL || aero_sysmetrics_sample(&s->metrics, row) < 0 ||
	                    aero_spool_system(s->spool, row) < 0;
	/* Said when it starts failing and when it recovers, not at every sample
	 * (out of file descriptors, it fails until some close). */
	if (failed && !s->sampling_failed)
		aero_log_warn("cannot record system metrics: %s (said once until it works again)",
		              aero_error_last());
	else if (!failed && s->sampling_failed)
		aero_log_warn("system metrics are recorded again");
	s->sampling_failed = failed;
	cJSON_Delete(row);
}

/* The poll timeout (-1: none) shortened to wake at due_ms (CLOCK_MONOTONIC; 0: never). */
static int wake_by(int timeout, int64_t due_ms)
{
	if (due_ms == 0)
		return timeout;
	const int64_t left = due_ms - aero_clock_monotonic_ms();
	const int wait = left < 0 ? 0 : (left > INT32_MAX ? INT32_MAX : (int)left);
	return timeout < 0 || wait < timeout ? wait : timeout;
}

/* Waits for the next signal, record, sample or the end of the grace period. */
static void wait_for_event(struct supervisor *s)
{
	sample_system(s);
	if (s->console != NULL)
		aero_console_expire(s->console);
	if (s->channel != NULL)
		aero_channel_retry(s->channel); /* records that wait for room on the disk */
	int timeout = -1;
	if (s->next_sample_ms != 0) {
		const int64_t left = s->next_sample_ms - aero_clock_monotonic_ms();
		timeout = left < 0 ? 0 : (left > INT32_MAX ? INT32_MAX : (int)left);
	}
	if (s->deadline_ms != 0) {
		const int64_t left = s->deadline_ms - aero_clock_monotonic_ms();
		if (left <= 0) {
			kill_the_rest(s);
			reap(s);
			return;
		}
		if (timeout < 0 || left < timeout)
			timeout = left > INT32_MAX ? INT32_MAX : (int)left;
	}
	if (s->console != NULL)
		timeout = wake_by(timeout, aero_console_due_ms(s->console));
	if (s->channel != NULL)
		timeout = wake_by(timeout, aero_channel_due_ms(s->channel));
	struct pollfd fds[POLL_MAX];
	fds[0] = (struct pollfd){.fd = s->signal_fd, .events = POLLIN};
	size_t count = 1;
	if (s->console != NULL)
		count += aero_console_poll_fds(s->console, fds + count);
	const size_t channel_at = count;
	if (s->channel != NULL)
		count += aero_channel_poll_fds(s->channel, fds + count, POLL_MAX - count);
	const int ready = poll(fds, count, timeout);
	if (ready < 0 && errno != EINTR)
		aero_log_warn("poll failed: %s", strerror(errno));
	if (ready <= 0)
		return;
	/* Records first: what a process sent before it exited is kept. */
	if (s->channel != NULL)
		aero_channel_dispatch(s->channel, fds + channel_at, count - channel_at);
	if (s->console != NULL)
		aero_console_dispatch(s->console, fds + 1);
	if (fds[0].revents != 0)
		drain_signals(s);
}

int aero_exit_status(const struct aero_init_options *opts, int wait_status)
{
	int code;
	if (WIFEXITED(wait_status))
		code = WEXITSTATUS(wait_status);
	else if (WIFSIGNALED(wait_status))
		code = 128 + WTERMSIG(wait_status);
	else
		code = AERO_EXIT_INTERNAL;
	return code >= 0 && code < 256 && opts->remap_exit[code] ? 0 : code;
}

/* The run's outcome in run.json: state, exit status, end time. */
static void record_outcome(struct supervisor *s, int status)
{
	const char *state = status == 0                    ? "finished"
	                    : WIFSIGNALED(s->child_status) ? "killed"
	                                                   : "failed";
	char when[AERO_UTC_SIZE];
	aero_clock_utc_now(when);
	cJSON *outcome = cJSON_CreateObject();
	if (outcome == NULL || cJSON_AddStringToObject(outcome, "state", state) == NULL ||
	    cJSON_AddNumberToObject(outcome, "exit_status", status) == NULL ||
	    cJSON_AddStringToObject(outcome, "end_time", when) == NULL ||
	    (WIFSIGNALED(s->child_status) &&
	     cJSON_AddStringToObject(outcome, "signal", signal_name(WTERMSIG(s->child_status))) ==
	             NULL) ||
	    aero_spool_merge(s->spool, "run.json", outcome) < 0)
		aero_log_error("cannot record the run's outcome: %s", aero_error_last());
	cJSON_Delete(outcome);
}

/* Some of the experiment's records could not be written (said above, which):
 * aero-init's exit status says so instead of the experiment's. */
static int unrecorded(int status, size_t unread)
{
	if (unread > 0)
		aero_log_error("%zu connections still held records that could not be read for lack "
		               "of room on the disk; none of them was acknowledged",
		               unread);
	aero_log_error("exiting with status %d instead of the experiment's %d: not all of its "
	               "records could be written to the run directory (see above)",
	               AERO_EXIT_UNRECORDED, status);
	return AERO_EXIT_UNRECORDED;
}

/* The channel's socket where the experiment's user can reach it, and its own. */
static struct aero_channel_peer channel_peer(const struct aero_init_options *opts,
                                             const struct aero_privileges *p)
{
	return (struct aero_channel_peer){
	        .reaches_run_dir = aero_privileges_can_reach(p, opts->run_dir),
	        .give = p->uid != geteuid(),
	        .uid = p->uid,
	        .gid = p->gid,
	};
}

/* The life of a run, once its privileges are decided. */
static int supervise_run(const struct aero_init_options *opts,
                         const struct aero_privileges *privileges)
{
	struct supervisor s = {.opts = opts, .signal_fd = -1};

	if (take_over_signals(&s) < 0) {
		aero_log_error("cannot set up signal handling: %s", strerror(errno));
		return AERO_EXIT_INTERNAL;
	}
	become_subreaper();

	const int prepared = aero_prepare_run(opts, privileges);
	if (prepared != 0)
		return prepared;
	const struct aero_channel_peer peer = opts->run_dir != NULL ? channel_peer(opts, privileges)
	                                                            : (struct aero_channel_peer){0};
	if (opts->run_dir != NULL &&
	    (aero_spool_open(&s.spool, opts->run_dir) < 0 || aero_env_config_apply(s.spool) < 0 ||
	     aero_channel_open(&s.channel, opts->run_dir, s.spool, &peer) < 0)) {
		aero_log_error("cannot open the run's records, so it is not started: %s",
		               aero_error_last());
		(void)aero_spool_close(s.spool);
		return AERO_EXIT_INTERNAL;
	}
	if (s.spool != NULL && opts->system_interval_ms > 0) {
		aero_sysmetrics_init(&s.metrics);
		s.next_sample_ms = aero_clock_monotonic_ms() + opts->system_interval_ms;
	}

	if (s.spool != NULL && opts->console && aero_console_open(&s.console, opts->run_dir) < 0) {
		aero_log_error("cannot record the experiment's output, so it is not started: %s; "
		               "or run with --console=off",
		               aero_error_last());
		aero_channel_close(s.channel);
		(void)aero_spool_close(s.spool);
		return AERO_EXIT_INTERNAL;
	}

	if (s.spool != NULL) {
		const struct aero_courier_options courier = {
		        .run_dir = opts->run_dir,
		        .trackers = opts->trackers != NULL ? opts->trackers : "local",
		        .interval_ms = opts->tracker_interval_ms,
		        .stop_on_request = true,
		        .thread_start = drop_thread_privileges,
		        .thread_arg = (void *)privileges,
		};
		/* A tracker that cannot be reached never stops the run; only a run
		 * directory whose cursors cannot be written does. */
		if (aero_courier_start(&s.courier, &courier) < 0) {
			aero_log_error(
			        "cannot record the run for its trackers, so it is not started: %s",
			        aero_error_last());
			aero_console_close(s.console);
			aero_channel_close(s.channel);
			(void)aero_spool_close(s.spool);
			return AERO_EXIT_INTERNAL;
		}
	}
	struct aero_spawned spawned;
	const struct aero_spawn_stdio stdio = aero_console_stdio(s.console);
	const int spawn_status = aero_spawn(opts->command, &stdio, privileges, &spawned);
	if (s.console != NULL)
		aero_console_started(s.console);
	if (spawn_status != 0) {
		aero_console_close(s.console);
		aero_channel_close(s.channel);
		/* The run failed to start: the trackers are told so. */
		if (s.spool != NULL)
			record_outcome(&s, spawn_status);
		(void)aero_spool_close(s.spool);
		(void)aero_courier_finish(s.courier, opts->tracker_timeout_ms);
		return spawn_status;
	}
	s.child = spawned.pid;
	s.shell_tty = spawned.shell_tty;
	s.child_running = true;
	aero_log_info("started '%s' as process %d", opts->command[0], (int)s.child);
	drop_own_privileges(privileges);

	arm_parent_death_signal(&s);
	/* Do not pin the directory we were started in (it may be a mount). */
	if (chdir("/") < 0)
		aero_log_debug("cannot leave the working directory: %s", strerror(errno));

	while (!s.done)
		wait_for_event(&s);

	/* The experiment's last words, and what waits for room on the disk: at
	 * least a second each, even with --grace 0. */
	const long patience = opts->grace_ms > 1000 ? opts->grace_ms : 1000;
	if (s.console != NULL)
		aero_console_finish(s.console, patience);
	if (s.channel != NULL)
		aero_channel_drain(s.channel);
	int status = aero_exit_status(opts, s.child_status);
	if (s.spool != NULL)
		record_outcome(&s, status);
	aero_room_wait(s.channel, s.console, s.signal_fd, patience);
	aero_console_close(s.console);
	size_t unread = 0;
	if (s.channel != NULL) {
		unread = aero_channel_unread(s.channel);
		if (aero_channel_errors(s.channel) > 0)
			aero_log_warn("%lu records from the experiment were refused (see above)",
			              aero_channel_errors(s.channel));
		aero_channel_close(s.channel);
	}
	if (aero_spool_close(s.spool) != 0 || unread > 0)
		status = unrecorded(status, unread);
	if (s.courier != NULL && aero_courier_finish(s.courier, opts->tracker_timeout_ms) > 0)
		aero_log_debug("some trackers did not get everything (see above)");
	close(s.signal_fd);
	return status;
}

int aero_supervise(const struct aero_init_options *opts)
{
	struct aero_privileges privileges;
	const int planned = plan_privileges(opts, &privileges);
	if (planned != 0)
		return planned;
	const int status = supervise_run(opts, &privileges);
	aero_privileges_free(&privileges);
	return status;
}
