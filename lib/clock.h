/* Clocks and time stamps, the same everywhere in Aeromancy. */
#ifndef AERO_CLOCK_H
#define AERO_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Room for a time stamp from aero_clock_utc_now, NUL included. */
#define AERO_UTC_SIZE 96 /* room for any int the compiler can imagine */

/* Milliseconds of CLOCK_MONOTONIC: for deadlines and intervals. */
int64_t aero_clock_monotonic_ms(void);

/* Seconds of CLOCK_MONOTONIC, with the fraction: for durations that must
 * not follow the wall clock when it is set. */
double aero_clock_monotonic_seconds(void);

/* Seconds since the epoch (CLOCK_REALTIME), with the fraction. */
double aero_clock_now_seconds(void);

/* Writes now as UTC RFC 3339 with milliseconds: 2026-11-26T13:01:36.448Z. */
void aero_clock_utc_now(char buf[AERO_UTC_SIZE]);

/* Writes now as UTC RFC 3339 with microseconds, 2026-11-26T14:43:53.123456Z,
 * and returns its length (27 until the year 10000). */
size_t aero_clock_utc_us_now(char buf[AERO_UTC_SIZE]);

#endif
