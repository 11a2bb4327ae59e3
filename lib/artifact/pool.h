/* Parallel transfers: a few threads take the items of a task in turn, each
 * with a store handle of its own (store.h: one handle per thread). The first
 * failure stops the others and is what the task returns. */
#ifndef AERO_ARTIFACT_POOL_H
#define AERO_ARTIFACT_POOL_H

#include "progress.h"
#include "store.h"

#include <stddef.h>

/* How many threads AERO_STORE_JOBS asks for (1 to 64), else 8. */
#define AERO_POOL_DEFAULT_JOBS 8
#define AERO_POOL_MAX_JOBS 64

struct aero_pool_task {
	/* Does item index; store is the thread's handle (NULL without store_url).
	 * Returns 0 or an aero_artifact_status with aero_error set. */
	int (*run)(void *ctx, struct aero_store *store, size_t index);
	void *ctx;
	size_t count;
	const char *store_url;          /* NULL: the items need no store */
	struct aero_progress *progress; /* drawn while the threads work; may be NULL */
};

/* The thread count from AERO_STORE_JOBS; -1 with aero_error when it is bad. */
int aero_pool_jobs(unsigned *jobs);

/* Runs every item of task on up to jobs threads; 0, or the first failure's
 * status with its aero_error. */
int aero_pool_run(const struct aero_pool_task *task, unsigned jobs);

#endif
