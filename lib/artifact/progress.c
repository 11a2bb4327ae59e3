/* The progress line: composed in memory and written with one write(2), so
 * that it never interleaves with other diagnostics. */
#include "progress.h"

#include "clock.h"
#include "file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BAR_WIDTH 24

void aero_progress_init(struct aero_progress *p, const char *label, uint64_t total_bytes,
                        uint64_t total_files, bool wanted)
{
	memset(p, 0, sizeof(*p));
	atomic_init(&p->bytes, 0);
	atomic_init(&p->files, 0);
	p->total_bytes = total_bytes;
	p->total_files = total_files;
	p->label = label;
	p->started = aero_clock_now_seconds();
	p->enabled = wanted && isatty(STDERR_FILENO) == 1;
	const char *no_colour = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	p->colour = (no_colour == NULL || no_colour[0] == '\0') &&
	            (term == NULL || strcmp(term, "dumb") != 0);
}

void aero_progress_advance(void *ctx, uint64_t bytes)
{
	struct aero_progress *p = ctx;
	if (p != NULL)
		atomic_fetch_add(&p->bytes, bytes);
}

void aero_progress_file_done(struct aero_progress *p)
{
	if (p != NULL)
		atomic_fetch_add(&p->files, 1);
}

void aero_progress_size(uint64_t size, char buf[AERO_SIZE_TEXT_MAX])
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
	if (size < 1024) {
		(void)snprintf(buf, AERO_SIZE_TEXT_MAX, "%u B", (unsigned)size);
		return;
	}
	double v = (double)size / 1024;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	(void)snprintf(buf, AERO_SIZE_TEXT_MAX, "%.1f %s", v, units[u]);
}

void aero_progress_draw(struct aero_progress *p)
{
	if (!p->enabled)
		return;
	const uint64_t bytes = atomic_load(&p->bytes), files = atomic_load(&p->files);
	const double elapsed = aero_clock_now_seconds() - p->started;
	const double part = p->total_bytes > 0   ? (double)bytes / (double)p->total_bytes
	                    : p->total_files > 0 ? (double)files / (double)p->total_files
	                                         : 1.0;
	int filled = (int)(part * BAR_WIDTH);
	filled = filled < 0 ? 0 : filled > BAR_WIDTH ? BAR_WIDTH : filled;
	char bar[BAR_WIDTH + 1];
	memset(bar, '#', (size_t)filled);
	memset(bar + filled, '-', (size_t)(BAR_WIDTH - filled));
	bar[BAR_WIDTH] = '\0';
	char done[AERO_SIZE_TEXT_MAX], total[AERO_SIZE_TEXT_MAX], rate[AERO_SIZE_TEXT_MAX];
	aero_progress_size(bytes, done);
	aero_progress_size(p->total_bytes, total);
	aero_progress_size(elapsed > 0 ? (uint64_t)((double)bytes / elapsed) : 0, rate);
	char line[512];
	const int n = snprintf(
	        line, sizeof(line), "\r\033[K%s %s%s%s %s / %s  %llu/%llu files  %s/s", p->label,
	        p->colour ? "\033[32m" : "", bar, p->colour ? "\033[0m" : "", done, total,
	        (unsigned long long)files, (unsigned long long)p->total_files, rate);
	if (n > 0)
		(void)aero_write_all(STDERR_FILENO, line,
		                     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	p->drawn = true;
}

void aero_progress_finish(struct aero_progress *p)
{
	if (p->drawn)
		(void)aero_write_all(STDERR_FILENO, "\r\033[K", 4);
	p->drawn = false;
}
