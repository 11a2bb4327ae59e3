#include "diskfull.h"

#include "clock.h"
#include "log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
	char *run_dir;
	unsigned waiting;   /* the parts that wait for room */
	int64_t since_ms;   /* when the spell began */
	bool said_blocking; /* the bound was reached in this spell, and said */
} state;

void aero_diskfull_init(const char *run_dir)
{
	free(state.run_dir);
	state.run_dir = strdup(run_dir); /* NULL only makes the messages vaguer */
	state.waiting = 0;
	state.said_blocking = false;
}

static const char *run_dir(void)
{
	return state.run_dir != NULL ? state.run_dir : "(the run directory)";
}

const char *aero_diskfull_size(char *buf, size_t size, size_t bytes)
{
	if (bytes < 1024)
		(void)snprintf(buf, size, "%zu bytes", bytes);
	else if (bytes < (size_t)1024 * 1024)
		(void)snprintf(buf, size, "%.1f KiB", (double)bytes / 1024);
	else
		(void)snprintf(buf, size, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
	return buf;
}

void aero_diskfull_hit(enum aero_diskfull_part part, const char *file, int err, size_t held)
{
	const bool first = state.waiting == 0;
	state.waiting |= (unsigned)part;
	if (!first)
		return;
	state.since_ms = aero_clock_monotonic_ms();
	state.said_blocking = false;
	char amount[32];
	(void)aero_diskfull_size(amount, sizeof(amount), held);
	const char *what = err == ENOSPC || err == EDQUOT ? "is full" : "cannot be written";
	aero_log_warn("the disk under the run directory %s %s (%s: %s); free space on it (df %s). "
	              "The experiment goes on: what it records waits in aero-init's memory, "
	              "unacknowledged (%s now), and is written in order as soon as there is room; "
	              "once %zu MiB of records wait, its writes to the channel block",
	              run_dir(), what, file, strerror(err), run_dir(), amount,
	              AERO_DISKFULL_RECORDS_MAX >> 20);
}

void aero_diskfull_backpressure(size_t held)
{
	if (state.said_blocking || state.waiting == 0)
		return;
	state.said_blocking = true;
	char amount[32];
	aero_log_warn("%s of the experiment's records wait for room on the disk under %s; its "
	              "writes to the channel block until there is room",
	              aero_diskfull_size(amount, sizeof(amount), held), run_dir());
}

void aero_diskfull_cleared(enum aero_diskfull_part part)
{
	if ((state.waiting & (unsigned)part) == 0)
		return;
	state.waiting &= ~(unsigned)part;
	if (state.waiting != 0)
		return;
	const int64_t waited = aero_clock_monotonic_ms() - state.since_ms;
	aero_log_notice("the disk under the run directory %s has room again (after "
	                "%lld.%lld s); everything that waited is written",
	                run_dir(), (long long)(waited / 1000), (long long)(waited % 1000 / 100));
}

bool aero_diskfull_waiting(void)
{
	return state.waiting != 0;
}
