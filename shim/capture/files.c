#include "files.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

char *aero_root_path(const struct aero_capture_ctx *ctx, const char *path)
{
	const size_t len = strlen(ctx->root) + strlen(path) + 1;
	char *full = malloc(len);
	if (full == NULL) {
		aero_error_set("out of memory");
		return NULL;
	}
	(void)snprintf(full, len, "%s%s", ctx->root, path);
	return full;
}

char *aero_root_read(const struct aero_capture_ctx *ctx, const char *path, size_t max, size_t *len)
{
	char *full = aero_root_path(ctx, path);
	if (full == NULL)
		return NULL;
	char *data = aero_file_read(full, max, len);
	free(full);
	return data;
}

char *aero_line_value(const char *start)
{
	while (*start == ' ' || *start == '\t')
		start++;
	size_t n = strcspn(start, "\n");
	while (n > 0 && (start[n - 1] == ' ' || start[n - 1] == '\t' || start[n - 1] == '\r'))
		n--;
	char *value = strndup(start, n);
	if (value == NULL)
		aero_error_set("out of memory");
	return value;
}

int aero_json_add_string(cJSON *object, const char *key, const char *value)
{
	if (cJSON_AddStringToObject(object, key, value != NULL ? value : "") == NULL)
		return aero_error_set("out of memory");
	return 0;
}

int aero_json_add_number(cJSON *object, const char *key, double value)
{
	if (cJSON_AddNumberToObject(object, key, value) == NULL)
		return aero_error_set("out of memory");
	return 0;
}

cJSON *aero_json_add_object(cJSON *object, const char *key)
{
	cJSON *child = cJSON_AddObjectToObject(object, key);
	if (child == NULL)
		aero_error_set("out of memory");
	return child;
}

cJSON *aero_json_add_array(cJSON *object, const char *key)
{
	cJSON *child = cJSON_AddArrayToObject(object, key);
	if (child == NULL)
		aero_error_set("out of memory");
	return child;
}

static const char *sort_key1, *sort_key2;

static int compare_member(const cJSON *x, const cJSON *y, const char *key)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(x, key);
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(y, key);
	const char *sa = cJSON_IsString(a) ? a->valuestring : "";
	const char *sb = cJSON_IsString(b) ? b->valuestring : "";
	return strcmp(sa, sb);
}

/* One element of an array, for sorting. */
struct element {
	cJSON *item;
};

static int compare_items(const void *a, const void *b)
{
	const cJSON *x = ((const struct element *)a)->item;
	const cJSON *y = ((const struct element *)b)->item;
	const int c = compare_member(x, y, sort_key1);
	return c != 0 || sort_key2 == NULL ? c : compare_member(x, y, sort_key2);
}

int aero_json_sort_array(cJSON *array, const char *key1, const char *key2)
{
	const int count = cJSON_GetArraySize(array);
	if (count < 2)
		return 0;
	struct element *items = malloc((size_t)count * sizeof(*items));
	if (items == NULL)
		return aero_error_set("out of memory");
	for (int i = count - 1; i >= 0; i--)
		items[i].item = cJSON_DetachItemFromArray(array, i);
	sort_key1 = key1;
	sort_key2 = key2;
	qsort(items, (size_t)count, sizeof(*items), compare_items);
	for (int i = 0; i < count; i++)
		cJSON_AddItemToArray(array, items[i].item); /* cannot fail: no allocation */
	free(items);
	return 0;
}

int aero_json_add_setting(cJSON *object, const char *name, const char *value, const char *source)
{
	cJSON *entry = aero_json_add_object(object, name);
	if (entry == NULL || aero_json_add_string(entry, "value", value) < 0 ||
	    aero_json_add_string(entry, "source", source) < 0)
		return -1;
	return 0;
}

int aero_json_append_string(cJSON *array, const char *text)
{
	cJSON *item = text != NULL ? cJSON_CreateString(text) : NULL;
	if (item == NULL || !cJSON_AddItemToArray(array, item)) {
		cJSON_Delete(item);
		return aero_error_set("out of memory");
	}
	return 0;
}

const char *aero_root_map(const struct aero_capture_ctx *ctx, const char *path, size_t *len)
{
	char *full = aero_root_path(ctx, path);
	if (full == NULL)
		return NULL;
	const int fd = open(full, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *data = MAP_FAILED;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		aero_error_set("cannot open %s: %s", full, fd < 0 ? strerror(errno) : "not a file");
	else
		data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (fd >= 0)
		close(fd);
	free(full);
	if (data == MAP_FAILED)
		return NULL;
	*len = (size_t)st.st_size;
	return data;
}

void aero_root_unmap(const char *data, size_t len)
{
	if (data != NULL)
		(void)munmap((void *)data, len); /* munmap does not write */
}
