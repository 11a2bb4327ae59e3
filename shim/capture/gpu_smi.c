/* Richer GPU facts (memory, compute capability, the driver's CUDA version)
 * from nvidia-smi, run in a child with a hard deadline: a wedged driver makes
 * nvidia-smi hang, and PID 1 must neither hang nor crash with it. Only on the
 * running system. */
#include "clock.h"
#include "error.h"
#include "files.h"
#include "parse.h"
#include "probes.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMI_OUTPUT_MAX ((size_t)1024 * 1024)
#define SMI_DEFAULT_TIMEOUT_MS 5000L

/* nvidia-smi on PATH, else where NVIDIA's container toolkit puts it. */
static char *find_smi(void)
{
	const char *path = getenv("PATH");
	char *dirs = strdup(path != NULL ? path : "");
	char *found = NULL, *save = NULL;
	for (char *d = dirs != NULL ? strtok_r(dirs, ":", &save) : NULL; d != NULL && found == NULL;
	     d = strtok_r(NULL, ":", &save)) {
		const size_t len = strlen(d) + sizeof("/nvidia-smi");
		char *candidate = malloc(len);
		if (candidate == NULL)
			break;
		(void)snprintf(candidate, len, "%s/nvidia-smi", d);
		if (access(candidate, X_OK) == 0)
			found = candidate;
		else
			free(candidate);
	}
	free(dirs);
	if (found == NULL && access("/usr/local/nvidia/bin/nvidia-smi", X_OK) == 0)
		found = strdup("/usr/local/nvidia/bin/nvidia-smi");
	return found;
}

/* Runs argv with its output captured; kills it at the deadline. */
static char *run_until(char *const argv[], int64_t deadline_ms)
{
	int out[2];
	if (pipe2(out, O_CLOEXEC) < 0) {
		aero_error_set("cannot create a pipe: %s", strerror(errno));
		return NULL;
	}
	const pid_t pid = fork();
	if (pid < 0) {
		close(out[0]);
		close(out[1]);
		aero_error_set("cannot fork: %s", strerror(errno));
		return NULL;
	}
	if (pid == 0) {
		/* A group of its own, so that a kill reaches whatever it started. */
		(void)setpgid(0, 0);
		sigset_t none;
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		(void)dup2(null, STDIN_FILENO);
		(void)dup2(out[1], STDOUT_FILENO);
		(void)dup2(null, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	size_t used = 0, cap = 4096;
	char *text = malloc(cap);
	bool timed_out = false, failed = text == NULL;
	while (!failed) {
		const int64_t left = deadline_ms - aero_clock_monotonic_ms();
		struct pollfd pfd = {.fd = out[0], .events = POLLIN};
		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			timed_out = true;
			break;
		}
		if (used + 1 >= cap) {
			char *bigger = cap < SMI_OUTPUT_MAX ? realloc(text, cap * 2) : NULL;
			if (bigger == NULL) {
				failed = true;
				break;
			}
			text = bigger;
			cap *= 2;
		}
		const ssize_t n = read(out[0], text + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(out[0]);
	if (timed_out || failed)
		(void)kill(-pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out || failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(text);
		if (timed_out)
			aero_error_set("%s did not answer in time and was killed", argv[0]);
		else if (failed)
			aero_error_set("out of memory reading %s", argv[0]);
		else
			aero_error_set("%s failed (status %d)", argv[0], status);
		return NULL;
	}
	text[used] = '\0';
	return text;
}

/* "00000000:00:06.0" -> "0000:00:06.0", as /proc/driver/nvidia names buses. */
static void short_bus(const char *bus, char *out, size_t size)
{
	const char *colon = strchr(bus, ':');
	const unsigned long domain = colon != NULL ? strtoul(bus, NULL, 16) : 0;
	(void)snprintf(out, size, "%04lx%s", domain, colon != NULL ? colon : bus);
	for (char *p = out; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
}

static cJSON *device_for(cJSON *devices, const char *bus)
{
	cJSON *device;
	cJSON_ArrayForEach(device, devices)
	{
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(device, "bus");
		if (cJSON_IsString(b) && strcasecmp(b->valuestring, bus) == 0)
			return device;
	}
	device = cJSON_CreateObject();
	if (device == NULL || !cJSON_AddItemToArray(devices, device) ||
	    aero_json_add_string(device, "bus", bus) < 0) {
		cJSON_Delete(device);
		return NULL;
	}
	return device;
}

/* "BUS, NAME, MEMORY_MIB, COMPUTE_CAP" lines into the devices list. */
int aero_parse_smi_query(const char *text, cJSON *gpu)
{
	cJSON *devices = cJSON_GetObjectItemCaseSensitive(gpu, "devices");
	if (devices == NULL && (devices = aero_json_add_array(gpu, "devices")) == NULL)
		return -1;
	for (const char *line = text; *line != '\0';) {
		const size_t len = strcspn(line, "\n");
		char *copy = strndup(line, len);
		if (copy == NULL)
			return aero_error_set("out of memory");
		char *fields[4] = {NULL, NULL, NULL, NULL};
		char *save = NULL;
		size_t n = 0;
		for (char *f = strtok_r(copy, ",", &save); f != NULL && n < 4;
		     f = strtok_r(NULL, ",", &save)) {
			while (*f == ' ')
				f++;
			fields[n++] = f;
		}
		int rc = 0;
		if (n == 4) {
			char bus[64];
			short_bus(fields[0], bus, sizeof(bus));
			cJSON *device = device_for(devices, bus);
			char *end = NULL;
			const double mib = strtod(fields[2], &end);
			if (device == NULL)
				rc = aero_error_set("out of memory");
			if (rc == 0 && cJSON_GetObjectItemCaseSensitive(device, "model") == NULL)
				rc = aero_json_add_string(device, "model", fields[1]);
			if (rc == 0 && end != fields[2])
				rc = aero_json_add_number(device, "memory_total_mib", mib);
			if (rc == 0)
				rc = aero_json_add_string(device, "compute_capability", fields[3]);
		}
		free(copy);
		if (rc < 0)
			return -1;
		if (line[len] == '\0')
			break;
		line += len + 1;
	}
	return aero_json_sort_array(devices, "bus", NULL);
}

int aero_gpu_add_smi(const struct aero_capture_ctx *ctx, cJSON *gpu)
{
	if (!ctx->live)
		return 0;
	char *smi = find_smi();
	if (smi == NULL)
		return 0;
	long timeout = SMI_DEFAULT_TIMEOUT_MS;
	const char *setting = getenv("AERO_GPU_TIMEOUT");
	int rc = 0;
	if (setting != NULL && aero_parse_duration_ms(setting, 600000, &timeout) < 0)
		rc = aero_error_set("AERO_GPU_TIMEOUT: %s", aero_error_last());
	const int64_t deadline = aero_clock_monotonic_ms() + timeout;
	char query[] = "--query-gpu=pci.bus_id,name,memory.total,compute_cap";
	char format[] = "--format=csv,noheader,nounits";
	char *const query_argv[] = {smi, query, format, NULL};
	char *text = rc == 0 ? run_until(query_argv, deadline) : NULL;
	if (text == NULL)
		rc = -1;
	if (rc == 0)
		rc = aero_parse_smi_query(text, gpu);
	free(text);
	/* The driver's CUDA version is only in the table's header. */
	char *const plain_argv[] = {smi, NULL};
	char *table = rc == 0 ? run_until(plain_argv, deadline) : NULL;
	const char *cuda = table != NULL ? strstr(table, "CUDA Version:") : NULL;
	if (cuda != NULL) {
		char version[32];
		if (sscanf(cuda + 13, " %31[0-9.]", version) == 1)
			rc = aero_json_add_string(gpu, "cuda_driver_version", version);
	} else if (rc == 0 && table == NULL) {
		rc = -1;
	}
	free(table);
	free(smi);
	if (rc < 0)
		return aero_json_add_string(gpu, "smi_error", aero_error_last()) < 0 ? -1 : 0;
	return 0;
}

int aero_gpu_sample(cJSON *row, long timeout_ms)
{
	char *smi = find_smi();
	if (smi == NULL)
		return 0;
	char query[] = "--query-gpu=pci.bus_id,utilization.gpu,memory.used";
	char format[] = "--format=csv,noheader,nounits";
	char *const argv[] = {smi, query, format, NULL};
	char *text = run_until(argv, aero_clock_monotonic_ms() + timeout_ms);
	free(smi);
	if (text == NULL)
		return aero_json_add_string(row, "gpu_error", aero_error_last());
	cJSON *gpus = aero_json_add_array(row, "gpus");
	int rc = gpus != NULL ? 0 : -1;
	for (const char *line = text; rc == 0 && *line != '\0';) {
		const size_t len = strcspn(line, "\n");
		/* "BUS, UTILIZATION, MEMORY_USED" */
		char *copy = strndup(line, len);
		char *save = NULL;
		char *bus = copy != NULL ? strtok_r(copy, ",", &save) : NULL;
		char *util = bus != NULL ? strtok_r(NULL, ",", &save) : NULL;
		char *mem = util != NULL ? strtok_r(NULL, ",", &save) : NULL;
		char *util_end = NULL, *mem_end = NULL;
		const double util_value = util != NULL ? strtod(util, &util_end) : 0;
		const double mem_value = mem != NULL ? strtod(mem, &mem_end) : 0;
		if (mem != NULL && util_end != util && mem_end != mem) {
			char short_name[64];
			short_bus(bus, short_name, sizeof(short_name));
			cJSON *gpu = cJSON_CreateObject();
			if (gpu == NULL || !cJSON_AddItemToArray(gpus, gpu) ||
			    aero_json_add_string(gpu, "bus", short_name) < 0 ||
			    aero_json_add_number(gpu, "utilization_percent", util_value) < 0 ||
			    aero_json_add_number(gpu, "memory_used_mib", mem_value) < 0)
				rc = -1;
		}
		free(copy);
		line += len + (line[len] == '\n');
	}
	free(text);
	return rc;
}
