#include "bgwrite.h"

#include "error.h"
#include "file.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

enum state { IDLE, ASKED, DONE, QUIT };

struct aero_bgwrite {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* state changed: the thread and the caller wait on it */
	enum state state;
	int fd;
	const char *data;
	size_t len, done;
	int error;
};

static void *writer(void *arg)
{
	struct aero_bgwrite *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->state != ASKED && w->state != QUIT)
			pthread_cond_wait(&w->changed, &w->lock);
		if (w->state == QUIT)
			break;
		const int fd = w->fd;
		const char *const data = w->data;
		const size_t len = w->len;
		pthread_mutex_unlock(&w->lock);
		int error = 0;
		const size_t done = aero_write_some(fd, data, len, &error);
		pthread_mutex_lock(&w->lock);
		w->done = done;
		w->error = error;
		w->state = DONE;
		pthread_cond_broadcast(&w->changed);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int aero_bgwrite_open(struct aero_bgwrite **out)
{
	struct aero_bgwrite *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return aero_error_set("out of memory");
	w->state = IDLE;
	if (pthread_mutex_init(&w->lock, NULL) != 0) {
		free(w);
		return aero_error_set("cannot make a lock");
	}
	if (pthread_cond_init(&w->changed, NULL) != 0) {
		pthread_mutex_destroy(&w->lock);
		free(w);
		return aero_error_set("cannot make a condition variable");
	}
	/* Signals are for aero-init's main loop (its signalfd), never the thread. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	const int rc = pthread_create(&w->thread, NULL, writer, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		pthread_cond_destroy(&w->changed);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return aero_error_set("cannot start a thread: %s", strerror(rc));
	}
	*out = w;
	return 0;
}

void aero_bgwrite_start(struct aero_bgwrite *w, int fd, const char *data, size_t len)
{
	pthread_mutex_lock(&w->lock);
	w->fd = fd;
	w->data = data;
	w->len = len;
	w->state = ASKED;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
}

size_t aero_bgwrite_wait(struct aero_bgwrite *w, int *error)
{
	pthread_mutex_lock(&w->lock);
	while (w->state == ASKED)
		pthread_cond_wait(&w->changed, &w->lock);
	const size_t done = w->state == DONE ? w->done : 0;
	*error = w->state == DONE ? w->error : 0;
	w->state = IDLE;
	pthread_mutex_unlock(&w->lock);
	return done;
}

bool aero_bgwrite_busy(struct aero_bgwrite *w)
{
	pthread_mutex_lock(&w->lock);
	const bool busy = w->state == ASKED;
	pthread_mutex_unlock(&w->lock);
	return busy;
}

void aero_bgwrite_close(struct aero_bgwrite *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	while (w->state == ASKED)
		pthread_cond_wait(&w->changed, &w->lock);
	w->state = QUIT;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->changed);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
