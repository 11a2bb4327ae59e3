#include "pushed.h"

#include "runsdir.h"

#include "error.h"
#include "image_ref.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_NAME ".last-push.json"
#define RECORD_MAX ((size_t)64 * 1024)

static char *joined(const char *a, const char *b)
{
	char *out = NULL;
	if (asprintf(&out, "%s%s", a, b) < 0) {
		aero_error_set("out of memory");
		return NULL;
	}
	return out;
}

static char *record_text(const struct aero_pushed *pushed)
{
	cJSON *doc = cJSON_CreateObject();
	char *image = NULL;
	char *text = NULL;
	if (doc != NULL && asprintf(&image, "%s@%s", pushed->repository, pushed->digest) >= 0 &&
	    cJSON_AddStringToObject(doc, "image", image) != NULL &&
	    cJSON_AddStringToObject(doc, "repository", pushed->repository) != NULL &&
	    cJSON_AddStringToObject(doc, "tag", pushed->tag) != NULL &&
	    cJSON_AddStringToObject(doc, "digest", pushed->digest) != NULL)
		text = cJSON_Print(doc);
	if (text == NULL)
		aero_error_set("out of memory");
	free(image);
	cJSON_Delete(doc);
	return text;
}

int aero_pushed_save(const struct aero_pushed *pushed)
{
	char *dir = aero_runs_dir();
	char *path = dir != NULL ? joined(dir, "/" RECORD_NAME) : NULL;
	char *tmp = path != NULL ? joined(path, ".tmp") : NULL;
	char *text = tmp != NULL ? record_text(pushed) : NULL;
	int rc = text != NULL ? aero_mkdirs(dir) : -1;
	if (rc == 0) {
		FILE *f = fopen(tmp, "we");
		if (f == NULL) {
			rc = aero_error_set("cannot write %s: %s", tmp, strerror(errno));
		} else {
			const int write_failed = fputs(text, f) < 0 || fputc('\n', f) == EOF;
			if (fclose(f) != 0 || write_failed || rename(tmp, path) < 0) {
				rc = aero_error_set("cannot write %s: %s", path, strerror(errno));
				unlink(tmp);
			}
		}
	}
	free(text);
	free(tmp);
	free(path);
	free(dir);
	return rc;
}

static char *read_small_file(const char *path, int *missing)
{
	*missing = 0;
	const int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*missing = errno == ENOENT;
		if (!*missing)
			aero_error_set("cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	char *text = malloc(RECORD_MAX + 1);
	size_t used = 0;
	ssize_t n = 0;
	while (text != NULL && used < RECORD_MAX &&
	       (n = read(fd, text + used, RECORD_MAX - used)) > 0)
		used += (size_t)n;
	close(fd);
	if (text == NULL) {
		aero_error_set("out of memory");
		return NULL;
	}
	if (n < 0) {
		aero_error_set("cannot read %s: %s", path, strerror(errno));
		free(text);
		return NULL;
	}
	text[used] = '\0';
	return text;
}

static char *member(const cJSON *doc, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(doc, key);
	return cJSON_IsString(item) ? strdup(item->valuestring) : NULL;
}

int aero_pushed_load(struct aero_pushed *pushed)
{
	memset(pushed, 0, sizeof(*pushed));
	char *dir = aero_runs_dir();
	char *path = dir != NULL ? joined(dir, "/" RECORD_NAME) : NULL;
	free(dir);
	if (path == NULL)
		return -1;
	int missing = 0;
	char *text = read_small_file(path, &missing);
	if (text == NULL) {
		free(path);
		return missing ? 1 : -1;
	}
	cJSON *doc = cJSON_Parse(text);
	free(text);
	pushed->repository = member(doc, "repository");
	pushed->tag = member(doc, "tag");
	pushed->digest = member(doc, "digest");
	cJSON_Delete(doc);
	int rc = 0;
	if (pushed->repository == NULL || pushed->tag == NULL || pushed->digest == NULL ||
	    !aero_image_digest_valid(pushed->digest)) {
		rc = aero_error_set("%s is not a record of 'aero-launch push' (remove it, or push "
		                    "again)",
		                    path);
		aero_pushed_clear(pushed);
	}
	free(path);
	return rc;
}

void aero_pushed_clear(struct aero_pushed *pushed)
{
	free(pushed->repository);
	free(pushed->tag);
	free(pushed->digest);
	memset(pushed, 0, sizeof(*pushed));
}
