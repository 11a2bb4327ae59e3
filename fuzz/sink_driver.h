/* Drives a tracker sink through a whole run (open, begin, send, a heartbeat,
 * finish) against the fake libcurl, which answers every request from the
 * fuzzer's input: what is fuzzed is how the sink reads its tracker's answers.
 * Included by fuzz_wandb.c and fuzz_mlflow.c only. */
#ifndef AERO_FUZZ_SINK_DRIVER_H
#define AERO_FUZZ_SINK_DRIVER_H

#include "log.h"
#include "sink.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sink_manifest[] =
        "{\"schema\":1,\"run\":{\"id\":\"20260101-000000-abcd\",\"start_time\":"
        "\"2026-01-01T00:00:00.250Z\",\"argv\":[\"python\",\"train.py\"],\"user\":\"me\","
        "\"hostname\":\"box\"},\"git\":{\"commit\":\"0123456789abcdef\",\"branch\":\"main\","
        "\"remote\":\"https://example.invalid/r.git\"},\"image\":{\"id\":\"sha256:00\"}}";

/* The run directory, made once per process. */
static const char *sink_run_dir(void)
{
	static char *dir;
	if (dir == NULL) {
		const char *tmp = fuzz_tmp_dir();
		fuzz_write_file(tmp, "run/manifest.json", sink_manifest, strlen(sink_manifest));
		fuzz_write_file(tmp, "run/config.json", "{\"lr\":0.1,\"layers\":[1,2]}", 25);
		fuzz_write_file(tmp, "run/run.json", "{\"tags\":[\"a\"],\"notes\":\"n\"}", 26);
		if (asprintf(&dir, "%s/run", tmp) < 0)
			abort();
	}
	return dir;
}

static void sink_drive(const struct aero_sink_ops *ops, const uint8_t *data, size_t size)
{
	if (size < 1)
		return;
	aero_log_init("fuzz", -1);
	/* The first byte picks the pieces the answers' bodies arrive in. */
	const size_t chunk = data[0] % 8 == 0 ? 0 : (size_t)1 << (data[0] % 8 - 1);
	fuzz_curl_serve((const char *)data + 1, size - 1, chunk);
	cJSON *manifest = cJSON_Parse(sink_manifest);
	cJSON *summary = cJSON_Parse("{\"loss\":0.5,\"nan\":\"NaN\"}");
	cJSON *config = cJSON_Parse("{\"lr\":0.1}");
	cJSON *run = cJSON_Parse("{\"tags\":[\"a\",\"b\"],\"notes\":\"n\"}");
	static const char metrics[] =
	        "{\"loss\":0.5,\"_step\":0,\"_timestamp\":1767225600.5,\"_runtime\":1}\n"
	        "{\"acc\":\"Infinity\",\"_step\":1,\"_timestamp\":1767225601,\"_runtime\":2}\n";
	static const char console[] = "2026-01-01T00:00:01.000Z stdout hello\n";
	static const char system[] = "{\"cpu\":12.5,\"_timestamp\":1767225601,\"_runtime\":2}\n";
	static const char artifacts[] = "{\"op\":\"put\",\"name\":\"model\",\"digest\":\"sha256:"
	                                "00\",\"uri\":\"file:///s/x\"}\n";
	const struct aero_batch batch = {
	        .run_dir = sink_run_dir(),
	        .manifest = manifest,
	        .metrics = {metrics, sizeof(metrics) - 1, 0, 2},
	        .system = {system, sizeof(system) - 1, 0, 1},
	        .console = {console, sizeof(console) - 1, 0, 1},
	        .artifacts = {artifacts, sizeof(artifacts) - 1, 0, 1},
	        .summary = summary,
	        .config = config,
	        .run = run,
	        .ending = true,
	};
	const struct aero_batch heartbeat = {.run_dir = batch.run_dir, .manifest = manifest};
	struct aero_sink_ctx ctx = {
	        .run_dir = batch.run_dir, .remote = cJSON_CreateObject(), .retry_after_ms = -1};
	void *sink = ctx.remote != NULL ? ops->open(&ctx) : NULL;
	if (sink != NULL) {
		enum aero_sink_result r = ops->begin(sink, &ctx, &batch);
		if (r == AERO_SINK_OK)
			r = ops->send(sink, &ctx, &batch);
		if (r == AERO_SINK_OK)
			r = ops->send(sink, &ctx, &heartbeat);
		const struct aero_outcome outcome = {.known = true,
		                                     .state = "killed",
		                                     .signal = "SIGKILL",
		                                     .exit_status = 137,
		                                     .end_time = 1767225700.5};
		if (r == AERO_SINK_OK)
			(void)ops->finish(sink, &ctx, &outcome);
		ops->close(sink);
	}
	cJSON_Delete(ctx.remote);
	cJSON_Delete(manifest);
	cJSON_Delete(summary);
	cJSON_Delete(config);
	cJSON_Delete(run);
}

#endif
