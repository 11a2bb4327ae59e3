/* A thread that writes one buffer at a time to a file while the caller goes
 * on: the metric channel reads and checks the next batch of records while
 * the last one goes into metrics.jsonl (doc/channel.md, "Throughput"). */
#ifndef AERO_SHIM_BGWRITE_H
#define AERO_SHIM_BGWRITE_H

#include <stdbool.h>
#include <stddef.h>

struct aero_bgwrite;

/* Starts the thread, with every signal blocked in it. 0, or -1 with
 * aero_error set. */
int aero_bgwrite_open(struct aero_bgwrite **out);

/* Has the thread write len bytes of data to fd, as far as it takes them;
 * data must stay as it is until aero_bgwrite_wait. One write at a time. */
void aero_bgwrite_start(struct aero_bgwrite *w, int fd, const char *data, size_t len);

/* Waits for the write: the bytes that went, with *error as
 * aero_write_some's (the errno that stopped it, or 0). */
size_t aero_bgwrite_wait(struct aero_bgwrite *w, int *error);

/* Whether the write started last is still going. */
bool aero_bgwrite_busy(struct aero_bgwrite *w);

/* Ends the thread (after the write it is doing) and frees w. */
void aero_bgwrite_close(struct aero_bgwrite *w);

#endif
