/* Whole files: read at once, written atomically. */
#include "file.h"

#include "error.h"
#include "runsdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *aero_file_read(const char *path, size_t max, size_t *len)
{
	const int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		aero_error_set("cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 4096, used = 0;
	char *data = malloc(cap);
	while (data != NULL) {
		if (used + 1 >= cap) {
			if (cap >= max + 1) {
				free(data);
				close(fd);
				aero_error_set("%s is larger than %zu bytes", path, max);
				return NULL;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *bigger = realloc(data, cap);
			if (bigger == NULL)
				break;
			data = bigger;
		}
		const ssize_t n = read(fd, data + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			aero_error_set("cannot read %s: %s", path, strerror(errno));
			free(data);
			close(fd);
			return NULL;
		}
		if (n == 0) {
			close(fd);
			data[used] = '\0';
			if (len != NULL)
				*len = used;
			return data;
		}
		used += (size_t)n;
	}
	free(data);
	close(fd);
	aero_error_set("out of memory reading %s", path);
	return NULL;
}

int aero_file_write_atomic(const char *path, const char *text)
{
	const size_t len = strlen(path) + 24;
	char *tmp = malloc(len);
	if (tmp == NULL) {
		errno = ENOMEM;
		return aero_error_set("out of memory");
	}
	(void)snprintf(tmp, len, "%s.tmp.%d", path, (int)getpid());
	const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int err = fd < 0 ? errno : 0; /* why it failed, kept for the caller */
	int rc = fd < 0 ? aero_error_set("cannot create %s: %s", tmp, strerror(err)) : 0;
	for (size_t done = 0, total = strlen(text); rc == 0 && done < total;) {
		const ssize_t n = write(fd, text + done, total - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? errno : ENOSPC;
			rc = aero_error_set("cannot write %s: %s", tmp, strerror(err));
		} else {
			done += (size_t)n;
		}
	}
	if (rc == 0 && fsync(fd) < 0) {
		err = errno;
		rc = aero_error_set("cannot write %s: %s", tmp, strerror(err));
	}
	if (fd >= 0 && close(fd) < 0 && rc == 0) {
		err = errno;
		rc = aero_error_set("cannot write %s: %s", tmp, strerror(err));
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		err = errno;
		rc = aero_error_set("cannot rename %s to %s: %s", tmp, path, strerror(err));
	}
	if (rc < 0 && fd >= 0)
		(void)unlink(tmp);
	free(tmp);
	errno = err;
	return rc;
}

size_t aero_write_some(int fd, const void *data, size_t len, int *error)
{
	const char *p = data;
	size_t done = 0;
	*error = 0;
	while (done < len) {
		const ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error = n < 0 ? errno : 0;
			break;
		}
		done += (size_t)n;
	}
	return done;
}

int aero_write_all(int fd, const void *data, size_t len)
{
	int error = 0;
	if (aero_write_some(fd, data, len, &error) == len)
		return 0;
	errno = error != 0 ? error : EIO;
	return -1;
}

cJSON *aero_file_read_json(const char *dir, const char *name, size_t max)
{
	char *path = aero_path_join(dir, name);
	char *text = path != NULL ? aero_file_read(path, max, NULL) : NULL;
	free(path);
	cJSON *json = text != NULL ? cJSON_Parse(text) : NULL;
	free(text);
	return json;
}
