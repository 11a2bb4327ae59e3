#include "clock.h"

#include <stdio.h>
#include <time.h>

int64_t aero_clock_monotonic_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double aero_clock_monotonic_seconds(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double aero_clock_now_seconds(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void aero_clock_utc_now(char buf[AERO_UTC_SIZE])
{
	struct timespec now;
	(void)clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	(void)gmtime_r(&now.tv_sec, &tm);
	(void)snprintf(buf, AERO_UTC_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	               tm.tm_sec, now.tv_nsec / 1000000);
}

size_t aero_clock_utc_us_now(char buf[AERO_UTC_SIZE])
{
	struct timespec now;
	(void)clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	(void)gmtime_r(&now.tv_sec, &tm);
	const int n = snprintf(buf, AERO_UTC_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	                       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                       tm.tm_sec, now.tv_nsec / 1000);
	return n < 0 ? 0 : (size_t)n;
}
