/* The transfer pool. Items are handed out by an atomic counter, so threads
 * never wait on each other; the calling thread only draws the progress line
 * and waits. */
#include "pool.h"

#include "artifact_status.h"
#include "error.h"
#include "parse.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often the progress line is redrawn. */
#define DRAW_INTERVAL_NS 100000000L

struct pool {
	const struct aero_pool_task *task;
	_Atomic size_t next;
	_Atomic bool stop;
	pthread_mutex_t lock;
	pthread_cond_t finished;
	unsigned running;
	int status;    /* the first failure's */
	char *message; /* and its aero_error */
};

int aero_pool_jobs(unsigned *jobs)
{
	const char *text = getenv("AERO_STORE_JOBS");
	long n = AERO_POOL_DEFAULT_JOBS;
	if (text != NULL && text[0] != '\0' && aero_parse_int(text, 1, AERO_POOL_MAX_JOBS, &n) < 0)
		return aero_error_set("AERO_STORE_JOBS: %s", aero_error_last());
	*jobs = (unsigned)n;
	return 0;
}

static void fail(struct pool *pool, int status)
{
	(void)pthread_mutex_lock(&pool->lock);
	if (pool->status == 0) {
		pool->status = status < 0 ? status : AERO_ARTIFACT_INTERNAL;
		pool->message = strdup(aero_error_last());
	}
	(void)pthread_mutex_unlock(&pool->lock);
	atomic_store(&pool->stop, true);
}

static void *worker(void *arg)
{
	struct pool *pool = arg;
	const struct aero_pool_task *task = pool->task;
	struct aero_store *store = NULL;
	if (task->store_url != NULL) {
		const int rc = aero_store_open(task->store_url, &store);
		if (rc != AERO_STORE_OK)
			fail(pool, aero_artifact_status_of_store(rc));
	}
	while (!atomic_load(&pool->stop) && (task->store_url == NULL || store != NULL)) {
		const size_t i = atomic_fetch_add(&pool->next, 1);
		if (i >= task->count)
			break;
		const int rc = task->run(task->ctx, store, i);
		if (rc != 0)
			fail(pool, rc);
	}
	aero_store_close(store);
	aero_error_clear();
	(void)pthread_mutex_lock(&pool->lock);
	pool->running--;
	(void)pthread_cond_signal(&pool->finished);
	(void)pthread_mutex_unlock(&pool->lock);
	return NULL;
}

/* Waits for every worker, drawing the progress line now and then. */
static void wait_for_workers(struct pool *pool)
{
	(void)pthread_mutex_lock(&pool->lock);
	while (pool->running > 0) {
		struct timespec until;
		(void)clock_gettime(CLOCK_MONOTONIC, &until); /* the condition's clock */
		until.tv_nsec += DRAW_INTERVAL_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_cond_timedwait(&pool->finished, &pool->lock, &until) == ETIMEDOUT &&
		    pool->task->progress != NULL) {
			(void)pthread_mutex_unlock(&pool->lock);
			aero_progress_draw(pool->task->progress);
			(void)pthread_mutex_lock(&pool->lock);
		}
	}
	(void)pthread_mutex_unlock(&pool->lock);
}

int aero_pool_run(const struct aero_pool_task *task, unsigned jobs)
{
	if (task->count == 0)
		return 0;
	struct pool pool = {.task = task};
	atomic_init(&pool.next, 0);
	atomic_init(&pool.stop, false);
	/* The progress line's timer runs on CLOCK_MONOTONIC: the wall clock set
	 * back would stop it for as long. */
	pthread_condattr_t attr;
	int rc = pthread_condattr_init(&attr);
	if (rc == 0) {
		rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		if (rc == 0)
			rc = pthread_cond_init(&pool.finished, &attr);
		(void)pthread_condattr_destroy(&attr);
	}
	if (rc != 0)
		return aero_error_set("cannot set up the transfer threads");
	if (pthread_mutex_init(&pool.lock, NULL) != 0) {
		(void)pthread_cond_destroy(&pool.finished);
		return aero_error_set("cannot set up the transfer threads");
	}
	const size_t want = jobs == 0 ? 1 : task->count < jobs ? task->count : jobs;
	pthread_t *threads = calloc(want, sizeof(*threads));
	size_t started = 0;
	if (threads != NULL)
		for (; started < want; started++) {
			(void)pthread_mutex_lock(&pool.lock);
			pool.running++;
			(void)pthread_mutex_unlock(&pool.lock);
			if (pthread_create(&threads[started], NULL, worker, &pool) != 0) {
				(void)pthread_mutex_lock(&pool.lock);
				pool.running--;
				(void)pthread_mutex_unlock(&pool.lock);
				break;
			}
		}
	if (started == 0) { /* no thread to be had: do the work here */
		pool.running = 1;
		(void)worker(&pool);
	}
	wait_for_workers(&pool);
	for (size_t i = 0; i < started; i++)
		(void)pthread_join(threads[i], NULL);
	free(threads);
	(void)pthread_cond_destroy(&pool.finished);
	(void)pthread_mutex_destroy(&pool.lock);
	if (pool.status != 0)
		aero_error_set("%s", pool.message != NULL ? pool.message : "out of memory");
	free(pool.message);
	return pool.status;
}
