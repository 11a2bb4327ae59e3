/* Many S3 requests at once on one multi handle. Each slot keeps its easy
 * handle for the whole run, so that its connection is reused from one job to
 * the next. */
#include "s3_parallel.h"

#include "error.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct slot {
	struct aero_s3_transfer t;
	CURL *curl;
	size_t job;
	bool busy;
};

/* Jobs waiting to be tried again, and when. */
struct retry {
	size_t job;
	long long due_ms;
};

struct run {
	struct aero_s3 *s3;
	const struct aero_s3_jobs *jobs;
	CURLM *multi;
	struct slot *slots;
	size_t nslots;
	unsigned *tries; /* per job */
	struct retry *retries;
	size_t nretries;
	size_t next_fresh; /* the first job never started */
	size_t done;
};

static long long now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The next job to start now, or (size_t)-1 when none is due. */
static size_t next_job(struct run *r)
{
	const long long now = now_ms();
	for (size_t i = 0; i < r->nretries; i++) {
		if (r->retries[i].due_ms <= now) {
			const size_t job = r->retries[i].job;
			r->retries[i] = r->retries[--r->nretries];
			return job;
		}
	}
	if (r->next_fresh < r->jobs->count)
		return r->next_fresh++;
	return (size_t)-1;
}

static int start(struct run *r, struct slot *s, size_t job)
{
	struct aero_s3_request req;
	memset(&req, 0, sizeof(req));
	req.body_fd = -1;
	req.out_fd = -1;
	int rc = r->jobs->prepare(r->jobs->ctx, job, &req);
	if (rc != 0)
		return rc;
	if (aero_s3_transfer_begin(r->s3, s->curl, &req, &s->t) < 0)
		return AERO_STORE_ERROR;
	(void)curl_easy_setopt(s->curl, CURLOPT_PRIVATE, s);
	if (curl_multi_add_handle(r->multi, s->curl) != CURLM_OK) {
		aero_s3_transfer_end(&s->t, CURLE_FAILED_INIT);
		aero_s3_response_free(&s->t.res);
		aero_error_set("cannot start a transfer (libcurl)");
		return AERO_STORE_ERROR;
	}
	r->tries[job]++;
	s->job = job;
	s->busy = true;
	return 0;
}

static int fill_slots(struct run *r)
{
	for (size_t i = 0; i < r->nslots; i++) {
		if (r->slots[i].busy)
			continue;
		const size_t job = next_job(r);
		if (job == (size_t)-1)
			return 0;
		const int rc = start(r, &r->slots[i], job);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int finished(struct run *r, struct slot *s, CURLcode result)
{
	(void)curl_multi_remove_handle(r->multi, s->curl);
	aero_s3_transfer_end(&s->t, result);
	s->busy = false;
	const size_t job = s->job;
	int rc = 0;
	if (r->tries[job] < AERO_S3_TRIES && aero_s3_retryable(&s->t.res)) {
		r->retries[r->nretries].job = job;
		r->retries[r->nretries].due_ms = now_ms() + aero_s3_backoff_ms(r->tries[job] - 1);
		r->nretries++;
	} else {
		rc = r->jobs->finish(r->jobs->ctx, job, &s->t.req, &s->t.res);
		r->done++;
	}
	aero_s3_response_free(&s->t.res);
	return rc;
}

/* How long to wait for sockets: until the next retry is due, at most 1 s. */
static int wait_ms(const struct run *r)
{
	long long wait = 1000;
	const long long now = now_ms();
	for (size_t i = 0; i < r->nretries; i++) {
		const long long left = r->retries[i].due_ms - now;
		if (left < wait)
			wait = left > 0 ? left : 0;
	}
	return (int)wait;
}

static int drive(struct run *r)
{
	int rc = 0;
	while (rc == 0 && r->done < r->jobs->count) {
		rc = fill_slots(r);
		if (rc != 0)
			break;
		int running = 0;
		if (curl_multi_perform(r->multi, &running) != CURLM_OK) {
			aero_error_set("libcurl's multi interface failed");
			return AERO_STORE_ERROR;
		}
		CURLMsg *msg;
		int left;
		bool freed = false;
		while (rc == 0 && (msg = curl_multi_info_read(r->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			struct slot *s = NULL;
			(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			if (s != NULL)
				rc = finished(r, s, msg->data.result);
			freed = true;
		}
		/* A freed slot takes the next job at once, not after a wait that
		 * nothing would cut short when no other transfer is running. */
		if (rc == 0 && !freed && r->done < r->jobs->count &&
		    curl_multi_poll(r->multi, NULL, 0, wait_ms(r), NULL) != CURLM_OK) {
			aero_error_set("libcurl's multi interface failed");
			return AERO_STORE_ERROR;
		}
	}
	return rc;
}

static void cleanup(struct run *r)
{
	for (size_t i = 0; r->slots != NULL && i < r->nslots; i++) {
		struct slot *s = &r->slots[i];
		if (s->busy) {
			(void)curl_multi_remove_handle(r->multi, s->curl);
			aero_s3_transfer_end(&s->t, CURLE_ABORTED_BY_CALLBACK);
			aero_s3_response_free(&s->t.res);
		}
		if (s->curl != NULL)
			curl_easy_cleanup(s->curl);
	}
	if (r->multi != NULL)
		(void)curl_multi_cleanup(r->multi);
	free(r->slots);
	free(r->tries);
	free(r->retries);
}

int aero_s3_jobs_run(struct aero_s3 *s3, const struct aero_s3_jobs *jobs)
{
	struct run r = {.s3 = s3, .jobs = jobs};
	if (jobs->count == 0)
		return 0;
	r.nslots = s3->conf.concurrency < jobs->count ? s3->conf.concurrency : jobs->count;
	r.slots = calloc(r.nslots, sizeof(*r.slots));
	r.tries = calloc(jobs->count, sizeof(*r.tries));
	r.retries = calloc(jobs->count, sizeof(*r.retries));
	r.multi = curl_multi_init();
	bool ok = r.slots != NULL && r.tries != NULL && r.retries != NULL && r.multi != NULL;
	for (size_t i = 0; ok && i < r.nslots; i++)
		ok = (r.slots[i].curl = curl_easy_init()) != NULL;
	int rc;
	if (!ok) {
		aero_error_set("out of memory");
		rc = AERO_STORE_ERROR;
	} else {
		rc = drive(&r);
	}
	cleanup(&r);
	return rc;
}
