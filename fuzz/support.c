/* The harnesses' shared helpers and the fake libcurl (support.h). */
#include "support.h"

#include "artifact_serve.h"
#include "canonjson.h"

#include <curl/curl.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

size_t fuzz_split(const char *text, size_t len, const char *sep, const char **parts, size_t *lens,
                  size_t max)
{
	const size_t sep_len = strlen(sep);
	size_t count = 0;
	while (count + 1 < max) {
		const char *at = memmem(text, len, sep, sep_len);
		if (at == NULL)
			break;
		parts[count] = text;
		lens[count++] = (size_t)(at - text);
		len -= (size_t)(at - text) + sep_len;
		text = at + sep_len;
	}
	parts[count] = text;
	lens[count++] = len;
	return count;
}

char *fuzz_strndup(const uint8_t *data, size_t len)
{
	char *copy = malloc(len + 1);
	if (copy == NULL)
		abort();
	if (len > 0)
		memcpy(copy, data, len);
	copy[len] = '\0';
	return copy;
}

int fuzz_text_parser(const uint8_t *data, size_t size, int (*parse)(const char *, cJSON *),
                     bool array)
{
	char *text = fuzz_strndup(data, size);
	cJSON *out = array ? cJSON_CreateArray() : cJSON_CreateObject();
	if (out == NULL)
		abort();
	(void)parse(text, out);
	char *printed = aero_json_canonical(out);
	if (printed == NULL)
		abort();
	free(printed);
	cJSON_Delete(out);
	free(text);
	return 0;
}

static char tmp_dir[512];

static void remove_tmp_dir(void)
{
	fuzz_remove_tree(tmp_dir, "");
}

const char *fuzz_tmp_dir(void)
{
	if (tmp_dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");
		(void)snprintf(tmp_dir, sizeof(tmp_dir), "%s/aero-fuzz.XXXXXX",
		               tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
		if (mkdtemp(tmp_dir) == NULL)
			abort();
		/* libFuzzer ends with exit() when its time is up. */
		(void)atexit(remove_tmp_dir);
	}
	return tmp_dir;
}

static char *join(const char *root, const char *rel)
{
	char *path = NULL;
	if (asprintf(&path, "%s/%s", root, rel) < 0)
		abort();
	return path;
}

void fuzz_write_file(const char *root, const char *rel, const char *data, size_t len)
{
	char *path = join(root, rel);
	for (char *slash = strchr(path + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			abort();
		*slash = '/';
	}
	FILE *f = fopen(path, "we");
	if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		abort();
	free(path);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

void fuzz_remove_tree(const char *root, const char *rel)
{
	char *path = join(root, rel);
	(void)nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(path);
}

/* ---- the fake libcurl ---- */

#define MAX_ANSWERS 64

struct answer {
	long status;
	const char *head; /* header lines, '\n'-separated */
	size_t head_len;
	const char *body;
	size_t body_len;
};

static struct {
	struct answer answers[MAX_ANSWERS];
	size_t count, next, chunk, transfers;
	long last_status; /* of the last transfer; 0 when it got no answer */
	curl_write_callback write_fn, header_fn;
	void *write_data, *header_data;
	char *error_buffer;
} fake;

void fuzz_curl_serve(const char *text, size_t len, size_t chunk)
{
	const char *parts[MAX_ANSWERS];
	size_t lens[MAX_ANSWERS];
	fake.count = fuzz_split(text, len, "\n%%\n", parts, lens, MAX_ANSWERS);
	fake.next = fake.transfers = 0;
	fake.chunk = chunk;
	for (size_t i = 0; i < fake.count; i++) {
		struct answer *a = &fake.answers[i];
		const char *p = parts[i];
		size_t n = lens[i];
		const char *eol = memchr(p, '\n', n);
		char status[16] = "";
		const size_t status_len = eol != NULL ? (size_t)(eol - p) : n;
		if (status_len < sizeof(status))
			memcpy(status, p, status_len);
		char *end = NULL;
		a->status = strtol(status, &end, 10);
		if (end == status || a->status < 0 || a->status > 999)
			a->status = 200;
		p = eol != NULL ? eol + 1 : p + n;
		n = eol != NULL ? lens[i] - status_len - 1 : 0;
		const char *blank = memmem(p, n, "\n\n", 2);
		a->head = p;
		a->head_len = blank != NULL ? (size_t)(blank - p) : n;
		a->body = blank != NULL ? blank + 2 : p + n;
		a->body_len = blank != NULL ? n - a->head_len - 2 : 0;
	}
}

size_t fuzz_curl_transfers(void)
{
	return fake.transfers;
}

CURLcode __wrap_curl_easy_setopt(CURL *curl, CURLoption option, ...);
CURLcode __wrap_curl_easy_perform(CURL *curl);
CURLcode __wrap_curl_easy_getinfo(CURL *curl, CURLINFO info, ...);
void __wrap_curl_easy_reset(CURL *curl);
struct aero_engine;
CURL *__wrap_aero_engine_handle(const struct aero_engine *eng, const char *method,
                                const char *path);

CURLcode __wrap_curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	(void)curl;
	va_list ap;
	va_start(ap, option);
	switch (option) {
	case CURLOPT_WRITEFUNCTION:
		fake.write_fn = va_arg(ap, curl_write_callback);
		break;
	case CURLOPT_WRITEDATA:
		fake.write_data = va_arg(ap, void *);
		break;
	case CURLOPT_HEADERFUNCTION:
		fake.header_fn = va_arg(ap, curl_write_callback);
		break;
	case CURLOPT_HEADERDATA:
		fake.header_data = va_arg(ap, void *);
		break;
	case CURLOPT_ERRORBUFFER:
		fake.error_buffer = va_arg(ap, char *);
		break;
	default:
		break;
	}
	va_end(ap);
	return CURLE_OK;
}

void __wrap_curl_easy_reset(CURL *curl)
{
	(void)curl;
	fake.write_fn = fake.header_fn = NULL;
	fake.write_data = fake.header_data = NULL;
	fake.error_buffer = NULL;
}

/* Hands bytes to a callback as curl does: a copy, so that the callback cannot
 * rely on anything past them. */
static bool deliver(curl_write_callback fn, void *data, const char *bytes, size_t len)
{
	if (fn == NULL)
		return true;
	char *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		abort();
	if (len > 0)
		memcpy(copy, bytes, len);
	const size_t taken = fn(copy, 1, len, data);
	free(copy);
	return taken == len;
}

CURLcode __wrap_curl_easy_perform(CURL *curl)
{
	(void)curl;
	fake.transfers++;
	fake.last_status = 0;
	if (fake.next >= fake.count) {
		if (fake.error_buffer != NULL)
			(void)snprintf(fake.error_buffer, CURL_ERROR_SIZE, "no answer (fuzzing)");
		return CURLE_COULDNT_CONNECT;
	}
	const struct answer *a = &fake.answers[fake.next++];
	fake.last_status = a->status;
	char status_line[32];
	const int n = snprintf(status_line, sizeof(status_line), "HTTP/1.1 %03ld X\r\n", a->status);
	if (!deliver(fake.header_fn, fake.header_data, status_line, (size_t)n))
		return CURLE_WRITE_ERROR;
	for (size_t at = 0; at < a->head_len;) {
		const char *eol = memchr(a->head + at, '\n', a->head_len - at);
		const size_t line_len =
		        eol != NULL ? (size_t)(eol - a->head) - at : a->head_len - at;
		char *line = malloc(line_len + 2);
		if (line == NULL)
			abort();
		memcpy(line, a->head + at, line_len);
		memcpy(line + line_len, "\r\n", 2);
		const bool ok = deliver(fake.header_fn, fake.header_data, line, line_len + 2);
		free(line);
		if (!ok)
			return CURLE_WRITE_ERROR;
		at += line_len + 1;
	}
	if (!deliver(fake.header_fn, fake.header_data, "\r\n", 2))
		return CURLE_WRITE_ERROR;
	for (size_t at = 0; at < a->body_len;) {
		size_t piece = a->body_len - at;
		if (fake.chunk > 0 && piece > fake.chunk)
			piece = fake.chunk;
		if (!deliver(fake.write_fn, fake.write_data, a->body + at, piece))
			return CURLE_WRITE_ERROR;
		at += piece;
	}
	return CURLE_OK;
}

CURLcode __wrap_curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	(void)curl;
	va_list ap;
	va_start(ap, info);
	if (info == CURLINFO_RESPONSE_CODE) {
		long *code = va_arg(ap, long *);
		*code = fake.last_status;
	}
	va_end(ap);
	return CURLE_OK;
}

CURL *__wrap_aero_engine_handle(const struct aero_engine *eng, const char *method, const char *path)
{
	(void)eng;
	(void)method;
	(void)path;
	return curl_easy_init();
}

/* Artifact requests would spawn /proc/self/exe, which is the fuzzer: the
 * request is refused as the real function refuses one, descriptors closed. */
const char *__wrap_aero_artifact_workers_start(struct aero_artifact_workers *w, const cJSON *msg,
                                               int client_fd, int out_fd, int err_fd, uid_t uid,
                                               gid_t gid);
const char *__wrap_aero_artifact_workers_start(struct aero_artifact_workers *w, const cJSON *msg,
                                               int client_fd, int out_fd, int err_fd, uid_t uid,
                                               gid_t gid)
{
	(void)w;
	(void)msg;
	(void)client_fd;
	(void)uid;
	(void)gid;
	if (out_fd >= 0)
		(void)close(out_fd);
	if (err_fd >= 0 && err_fd != out_fd)
		(void)close(err_fd);
	return "artifact requests are not served while fuzzing";
}
