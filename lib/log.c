/* One small logging module instead of a verbosity global read in many macros:
 * the level lives here, lines are composed in memory and written with one
 * write(2) so that they never interleave with the experiment's own output. */
#include "log.h"

#include "file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *log_program = "aeromancy";
static int log_level = AERO_LOG_WARN;

void aero_log_init(const char *program, int level)
{
	log_program = program;
	log_level = level;
}

int aero_log_level(void)
{
	return log_level;
}

static const char *level_prefix(int level)
{
	if (level & AERO_LOG_PLAIN)
		return "";
	switch (level) {
	case AERO_LOG_WARN:
		return "warning: ";
	case AERO_LOG_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

void aero_log(int level, const char *fmt, ...)
{
	if ((level & ~AERO_LOG_PLAIN) > log_level)
		return;
	const int saved_errno = errno;

	va_list ap;
	va_start(ap, fmt);
	const int body = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (body < 0) {
		errno = saved_errno;
		return;
	}

	const char *prefix = level_prefix(level);
	const size_t head = strlen(log_program) + 2 + strlen(prefix);
	const size_t total = head + (size_t)body + 2;
	char *line = malloc(total);
	if (line == NULL) {
		(void)aero_write_all(STDERR_FILENO, log_program, strlen(log_program));
		(void)aero_write_all(STDERR_FILENO, ": out of memory while reporting an error\n",
		                     41);
		errno = saved_errno;
		return;
	}
	(void)snprintf(line, total, "%s: %s", log_program, prefix);
	va_start(ap, fmt);
	(void)vsnprintf(line + head, total - head, fmt, ap);
	va_end(ap);
	line[head + (size_t)body] = '\n';
	(void)aero_write_all(STDERR_FILENO, line, head + (size_t)body + 1);
	free(line);
	errno = saved_errno;
}
