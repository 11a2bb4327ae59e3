/* Many S3 requests at once (the parts of an upload, the ranges of a
 * download) on one libcurl multi handle from the calling thread, each retried
 * on its own after a transient failure. */
#ifndef AERO_STORE_S3_PARALLEL_H
#define AERO_STORE_S3_PARALLEL_H

#include "s3_http.h"

#include <stddef.h>

struct aero_s3_jobs {
	size_t count;
	/* Fills *req for job number job (called again for each try); what req
	 * points to must live until finish is called for the job. 0, or a store
	 * status with aero_error set. */
	int (*prepare)(void *ctx, size_t job, struct aero_s3_request *req);
	/* Judges the answer of a job that will not be tried again; 0 when the
	 * job is done, else a store status with aero_error set. */
	int (*finish)(void *ctx, size_t job, const struct aero_s3_request *req,
	              const struct aero_s3_response *res);
	void *ctx;
};

/* Runs every job, at most s3->conf.concurrency at a time. Stops at the first
 * job that fails and returns its status; 0 when all are done. */
int aero_s3_jobs_run(struct aero_s3 *s3, const struct aero_s3_jobs *jobs);

#endif
