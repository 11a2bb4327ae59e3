/* A container's life. The wait request goes in before the start, so that an
 * experiment that ends at once cannot be missed; the log stream and the wait
 * then run together on one curl multi handle, polled with the signalfd. */
#include "container.h"

#include "clock.h"
#include "demux.h"
#include "error.h"
#include "log.h"
#include "status.h"

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* How long the output may trail the exit before aero-launch stops reading it. */
#define OUTPUT_GRACE_MS 10000
/* Interrupts after which the container is killed rather than asked to stop. */
#define KILL_AFTER 3

/* before id after, malloc'd; NULL with aero_error set. */
static char *path_of(const char *before, const char *id, const char *after)
{
	const size_t len = strlen(before) + strlen(id) + strlen(after) + 1;
	char *path = malloc(len);
	if (path == NULL)
		aero_error_set("out of memory");
	else
		(void)snprintf(path, len, "%s%s%s", before, id, after);
	return path;
}

int aero_container_create(const struct aero_engine *eng, const char *name, const cJSON *body,
                          char **id)
{
	*id = NULL;
	char *json = cJSON_PrintUnformatted(body);
	char *escaped = aero_engine_escape(name);
	char *path = escaped != NULL ? path_of("/containers/create?name=", escaped, "") : NULL;
	free(escaped);
	struct aero_buf response = {0};
	long status = 0;
	int rc = json != NULL && path != NULL ? 0 : aero_error_set("out of memory");
	if (rc == 0)
		rc = aero_engine_request(eng, "POST", path, json, &status, &response);
	free(json);
	free(path);
	if (rc < 0) {
		aero_buf_free(&response);
		return -AERO_EXIT_ENGINE;
	}
	if (status != 201) {
		aero_error_set("the engine cannot create the container (HTTP %ld): %s", status,
		               aero_engine_message(&response));
		aero_buf_free(&response);
		return -AERO_EXIT_CONTAINER;
	}
	cJSON *reply = cJSON_Parse(response.data != NULL ? response.data : "");
	const cJSON *got = cJSON_GetObjectItemCaseSensitive(reply, "Id");
	const cJSON *warnings = cJSON_GetObjectItemCaseSensitive(reply, "Warnings");
	const cJSON *w;
	cJSON_ArrayForEach(w, warnings)
	{
		if (cJSON_IsString(w))
			aero_log_warn("the engine: %s", w->valuestring);
	}
	*id = cJSON_IsString(got) ? strdup(got->valuestring) : NULL;
	cJSON_Delete(reply);
	aero_buf_free(&response);
	if (*id == NULL) {
		aero_error_set("the engine created a container without saying its id");
		return -AERO_EXIT_CONTAINER;
	}
	return 0;
}

static int start(const struct aero_engine *eng, const char *id)
{
	char *path = path_of("/containers/", id, "/start");
	struct aero_buf response = {0};
	long status = 0;
	if (path == NULL || aero_engine_request(eng, "POST", path, NULL, &status, &response) < 0) {
		free(path);
		aero_buf_free(&response);
		return -AERO_EXIT_ENGINE;
	}
	free(path);
	int rc = 0;
	if (status != 204 && status != 304) {
		const char *msg = aero_engine_message(&response);
		if (strstr(msg, "could not select device driver") != NULL) {
			aero_error_set(
			        "the engine has no GPU runtime (%s): install the NVIDIA Container "
			        "Toolkit ('apt-get install nvidia-container-toolkit', then "
			        "'nvidia-ctk runtime configure --runtime=docker' and restart "
			        "dockerd), or run without --gpus",
			        msg);
			rc = -AERO_EXIT_GPU;
		} else {
			aero_error_set("the engine cannot start the container (HTTP %ld): %s",
			               status, msg);
			rc = -AERO_EXIT_CONTAINER;
		}
	}
	aero_buf_free(&response);
	return rc;
}

static void forward(const struct aero_engine *eng, const char *id, int sig)
{
	const size_t len = strlen(id) + 64;
	char *path = malloc(len);
	if (path == NULL)
		return;
	(void)snprintf(path, len, "/containers/%s/kill?signal=%d", id, sig);
	long status = 0;
	if (aero_engine_request(eng, "POST", path, NULL, &status, NULL) < 0)
		aero_log_warn("cannot forward signal %d: %s", sig, aero_error_last());
	free(path);
}

struct follow {
	CURLM *multi;
	CURL *wait;
	CURL *logs;
	struct aero_buf wait_body;
	struct aero_demux demux;
	bool wait_answered; /* the wait's headers came: the engine is waiting */
	bool logs_answered; /* the attach's headers came: the output will reach us */
	bool wait_done, logs_done;
	CURLcode wait_result;
	bool output_failed;
};

/* The blank line that ends the headers: the engine has taken the request. */
static bool headers_end(const char *data, size_t len)
{
	return len <= 2 && (data[0] == '\r' || data[0] == '\n');
}

static size_t wait_headers(const char *data, size_t size, size_t count, void *userdata)
{
	struct follow *f = userdata;
	if (headers_end(data, size * count))
		f->wait_answered = true;
	return size * count;
}

static size_t logs_headers(const char *data, size_t size, size_t count, void *userdata)
{
	struct follow *f = userdata;
	if (headers_end(data, size * count))
		f->logs_answered = true;
	return size * count;
}

static size_t wait_body(char *data, size_t size, size_t count, void *userdata)
{
	struct follow *f = userdata;
	return aero_buf_append(&f->wait_body, data, size * count) == 0 ? size * count : 0;
}

static size_t log_output(char *data, size_t size, size_t count, void *userdata)
{
	struct follow *f = userdata;
	if (aero_demux_feed(&f->demux, data, size * count) < 0) {
		if (!f->output_failed)
			aero_log_error("%s", aero_error_last());
		f->output_failed = true; /* keep following: the exit status matters more */
	}
	return size * count;
}

/* Moves transfers along for up to timeout_ms; reads what finished. */
static int step(struct follow *f, int timeout_ms, int sigfd, bool *signalled)
{
	struct curl_waitfd extra = {.fd = sigfd, .events = POLLIN, .revents = 0};
	int running = 0;
	if (curl_multi_perform(f->multi, &running) != CURLM_OK ||
	    curl_multi_poll(f->multi, &extra, sigfd >= 0 ? 1 : 0, timeout_ms, NULL) != CURLM_OK)
		return aero_error_set("the connection to the engine failed");
	*signalled = (extra.revents & POLLIN) != 0;
	curl_multi_perform(f->multi, &running);
	int left = 0;
	CURLMsg *msg;
	while ((msg = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		if (msg->easy_handle == f->wait) {
			f->wait_done = true;
			f->wait_result = msg->data.result;
		} else if (msg->easy_handle == f->logs) {
			f->logs_done = true;
		}
	}
	return 0;
}

static int add(struct follow *f, CURL **slot, const struct aero_engine *eng, const char *method,
               const char *id, const char *after)
{
	char *path = path_of("/containers/", id, after);
	*slot = path != NULL ? aero_engine_handle(eng, method, path) : NULL;
	free(path);
	if (*slot == NULL)
		return -1;
	if (curl_multi_add_handle(f->multi, *slot) != CURLM_OK)
		return aero_error_set("cannot follow the container");
	return 0;
}

static int exit_status_of(struct follow *f, int *exit_status)
{
	long http = 0;
	curl_easy_getinfo(f->wait, CURLINFO_RESPONSE_CODE, &http);
	if (f->wait_result != CURLE_OK || http != 200) {
		aero_error_set("lost the container's exit status (%s, HTTP %ld)",
		               curl_easy_strerror(f->wait_result), http);
		return -AERO_EXIT_ENGINE;
	}
	cJSON *reply = cJSON_Parse(f->wait_body.data != NULL ? f->wait_body.data : "");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(reply, "StatusCode");
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(reply, "Error");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "Message");
	int rc = 0;
	if (cJSON_IsString(msg) && msg->valuestring[0] != '\0') {
		aero_error_set("the engine lost the container: %s", msg->valuestring);
		rc = -AERO_EXIT_CONTAINER;
	} else if (!cJSON_IsNumber(code)) {
		aero_error_set("the engine gave no exit status for the container");
		rc = -AERO_EXIT_CONTAINER;
	} else {
		*exit_status = code->valueint;
	}
	cJSON_Delete(reply);
	return rc;
}

static void on_signal(const struct aero_engine *eng, const char *id, int sigfd, int *interrupts)
{
	struct signalfd_siginfo si;
	while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;
		if (sig == SIGINT || sig == SIGTERM) {
			if (++*interrupts >= KILL_AFTER) {
				aero_log_warn("killing the container");
				sig = SIGKILL;
			} else if (*interrupts == KILL_AFTER - 1) {
				aero_log_warn(
				        "stopping the experiment; interrupt once more to kill it");
			}
		}
		forward(eng, id, sig);
	}
}

static int follow_loop(struct follow *f, const struct aero_engine *eng, const char *id, int sigfd)
{
	int interrupts = 0;
	int64_t deadline = 0;
	while (!f->wait_done || (!f->logs_done && aero_clock_monotonic_ms() < deadline)) {
		bool signalled = false;
		if (step(f, 200, f->wait_done ? -1 : sigfd, &signalled) < 0)
			return -AERO_EXIT_ENGINE;
		if (signalled)
			on_signal(eng, id, sigfd, &interrupts);
		if (f->wait_done && deadline == 0)
			deadline = aero_clock_monotonic_ms() + OUTPUT_GRACE_MS;
	}
	if (!f->logs_done)
		aero_log_warn("the container's output did not end with it; some may be missing");
	return 0;
}

/* Attaches to the output and waits for the exit, both before the start, so
 * that neither the first nor the last bytes nor a quick exit can be missed
 * (the log endpoint can lose a last line without its newline). */
static int attach(struct follow *f, const struct aero_engine *eng, const char *id)
{
	if (add(f, &f->wait, eng, "POST", id, "/wait?condition=next-exit") < 0 ||
	    add(f, &f->logs, eng, "POST", id, "/attach?stream=1&stdout=1&stderr=1") < 0)
		return -AERO_EXIT_INTERNAL;
	curl_easy_setopt(f->wait, CURLOPT_HEADERFUNCTION, wait_headers);
	curl_easy_setopt(f->wait, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(f->wait, CURLOPT_WRITEFUNCTION, wait_body);
	curl_easy_setopt(f->wait, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(f->logs, CURLOPT_HEADERFUNCTION, logs_headers);
	curl_easy_setopt(f->logs, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(f->logs, CURLOPT_WRITEFUNCTION, log_output);
	curl_easy_setopt(f->logs, CURLOPT_WRITEDATA, f);
	while (!(f->wait_answered && f->logs_answered) && !f->wait_done && !f->logs_done) {
		bool ignored = false;
		if (step(f, 100, -1, &ignored) < 0)
			return -AERO_EXIT_ENGINE;
	}
	if (f->wait_done || f->logs_done) {
		aero_error_set("the engine would not attach to the container");
		return -AERO_EXIT_ENGINE;
	}
	return 0;
}

int aero_container_run(const struct aero_engine *eng, const char *id, int sigfd, int *exit_status)
{
	struct follow f = {0};
	aero_demux_init(&f.demux, STDOUT_FILENO, STDERR_FILENO);
	f.multi = curl_multi_init();
	int rc = f.multi != NULL ? 0 : -AERO_EXIT_INTERNAL;
	if (rc < 0)
		aero_error_set("out of memory");
	if (rc == 0)
		rc = attach(&f, eng, id);
	if (rc == 0)
		rc = start(eng, id);
	if (rc == 0)
		rc = follow_loop(&f, eng, id, sigfd);
	if (rc == 0)
		rc = exit_status_of(&f, exit_status);
	if (f.wait != NULL)
		curl_multi_remove_handle(f.multi, f.wait);
	if (f.logs != NULL)
		curl_multi_remove_handle(f.multi, f.logs);
	curl_easy_cleanup(f.wait);
	curl_easy_cleanup(f.logs);
	curl_multi_cleanup(f.multi);
	aero_buf_free(&f.wait_body);
	return rc;
}

void aero_container_remove(const struct aero_engine *eng, const char *id)
{
	char *path = path_of("/containers/", id, "?force=1&v=1");
	long status = 0;
	if (path == NULL || aero_engine_request(eng, "DELETE", path, NULL, &status, NULL) < 0)
		aero_log_warn("cannot remove container %.12s: %s", id, aero_error_last());
	else if (status != 204 && status != 404)
		aero_log_warn("cannot remove container %.12s (HTTP %ld)", id, status);
	free(path);
}
