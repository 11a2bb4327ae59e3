#include "room_wait.h"

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <unistd.h>

static bool waiting(const struct aero_channel *channel, const struct aero_console *console)
{
	return (channel != NULL && aero_channel_waiting(channel)) ||
	       (console != NULL && aero_console_waiting(console));
}

/* The earlier of wake and due (0: never). */
static int64_t earlier(int64_t wake, int64_t due)
{
	return due != 0 && due < wake ? due : wake;
}

/* Whether a signal that asks aero-init to stop has come: being stopped
 * (docker stop) ends the wait, since what waits is lost either way. */
static bool asked_to_stop(int signal_fd)
{
	struct signalfd_siginfo info;
	bool stop = false;
	while (read(signal_fd, &info, sizeof(info)) == (ssize_t)sizeof(info))
		stop |= info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT;
	return stop;
}

void aero_room_wait(struct aero_channel *channel, struct aero_console *console, int signal_fd,
                    long patience_ms)
{
	if (!waiting(channel, console))
		return;
	aero_log_warn("the experiment has ended, but some of what it recorded still waits for room "
	              "on the disk; waiting up to %ld ms for it",
	              patience_ms);
	const int64_t deadline = aero_clock_monotonic_ms() + patience_ms;
	while (waiting(channel, console)) {
		const int64_t now = aero_clock_monotonic_ms();
		if (now >= deadline)
			return;
		int64_t wake = deadline;
		if (channel != NULL)
			wake = earlier(wake, aero_channel_due_ms(channel));
		if (console != NULL)
			wake = earlier(wake, aero_console_due_ms(console));
		struct pollfd fd = {.fd = signal_fd, .events = POLLIN};
		const int64_t left = wake - now; /* at most the grace period's limit, a day */
		const int ready = poll(&fd, 1,
		                       left <= 0          ? 0
		                       : left > INT32_MAX ? INT32_MAX
		                                          : (int)left);
		if (ready < 0 && errno != EINTR)
			return;
		if (ready > 0 && asked_to_stop(signal_fd)) {
			aero_log_warn("asked to stop: no more waiting for room on the disk");
			return;
		}
		if (channel != NULL) {
			aero_channel_retry(channel);
			aero_channel_drain(
			        channel); /* what the wait held up, as far as there is room */
		}
		if (console != NULL)
			aero_console_expire(console);
	}
}
