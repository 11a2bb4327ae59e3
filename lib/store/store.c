/* The store: picks a backend by the URL's scheme and forwards each call. */
#include "store.h"

#include "error.h"
#include "runsdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct aero_store_backend *const backends[] = {
        &aero_store_file_backend,
        &aero_store_s3_backend,
};

struct aero_store {
	const struct aero_store_backend *backend;
	void *state;
	char *url;
};

static const struct aero_store_backend *backend_for(const char *url)
{
	const char *colon = strstr(url, "://");
	if (colon == NULL)
		return NULL;
	const size_t len = (size_t)(colon - url);
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strlen(backends[i]->scheme) == len &&
		    strncmp(url, backends[i]->scheme, len) == 0)
			return backends[i];
	return NULL;
}

int aero_store_open(const char *url, struct aero_store **out)
{
	*out = NULL;
	const struct aero_store_backend *backend = backend_for(url);
	if (backend == NULL) {
		aero_error_set("store URL '%s' is not file:///DIR or s3://BUCKET[/PREFIX]: "
		               "set AERO_STORE to one of those",
		               url);
		return AERO_STORE_ERROR;
	}
	struct aero_store *store = calloc(1, sizeof(*store));
	if (store == NULL || (store->url = strdup(url)) == NULL) {
		free(store);
		aero_error_set("out of memory");
		return AERO_STORE_ERROR;
	}
	store->backend = backend;
	const int rc = backend->open(url, &store->state);
	if (rc != AERO_STORE_OK) {
		free(store->url);
		free(store);
		return rc;
	}
	*out = store;
	return AERO_STORE_OK;
}

char *aero_store_default_url(void)
{
	const char *env = getenv("AERO_STORE");
	if (env != NULL && env[0] != '\0')
		return strdup(env);
	const char *data = getenv("XDG_DATA_HOME");
	const char *home = getenv("HOME");
	char *dir = NULL;
	if (data != NULL && data[0] == '/')
		dir = aero_path_join(data, "aeromancy/store");
	else if (home != NULL && home[0] == '/')
		dir = aero_path_join(strcmp(home, "/") == 0 ? "" : home,
		                     ".local/share/aeromancy/store");
	else
		dir = strdup("/var/lib/aeromancy/store");
	if (dir == NULL)
		return NULL;
	const size_t len = strlen(dir) + sizeof("file://");
	char *url = malloc(len);
	if (url != NULL)
		(void)snprintf(url, len, "file://%s", dir);
	free(dir);
	return url;
}

const char *aero_store_url(const struct aero_store *store)
{
	return store->url;
}

int aero_store_put_fd(struct aero_store *store, const char *key, int fd, uint64_t size,
                      const char *sha256, unsigned flags,
                      const struct aero_store_progress *progress)
{
	return store->backend->put_fd(store->state, key, fd, size, sha256, flags, progress);
}

int aero_store_put_bytes(struct aero_store *store, const char *key, const void *data, size_t len,
                         unsigned flags)
{
	return store->backend->put_bytes(store->state, key, data, len, flags);
}

int aero_store_get_fd(struct aero_store *store, const char *key, int fd, uint64_t offset,
                      const char *if_match, struct aero_store_stat *st,
                      const struct aero_store_progress *progress)
{
	return store->backend->get_fd(store->state, key, fd, offset, if_match, st, progress);
}

int aero_store_get_bytes(struct aero_store *store, const char *key, size_t max, char **data,
                         size_t *len)
{
	return store->backend->get_bytes(store->state, key, max, data, len);
}

int aero_store_head(struct aero_store *store, const char *key, struct aero_store_stat *st)
{
	return store->backend->head(store->state, key, st);
}

int aero_store_list(struct aero_store *store, const char *prefix, aero_store_list_fn fn, void *ctx)
{
	return store->backend->list(store->state, prefix, fn, ctx);
}

int aero_store_exists(struct aero_store *store, const char *const *keys, size_t n, bool *found)
{
	if (n == 0)
		return AERO_STORE_OK;
	return store->backend->exists(store->state, keys, n, found);
}

int aero_store_remove(struct aero_store *store, const char *key)
{
	return store->backend->remove(store->state, key);
}

void aero_store_close(struct aero_store *store)
{
	if (store == NULL)
		return;
	store->backend->close(store->state);
	free(store->url);
	free(store);
}

const char *aero_store_status_name(int status)
{
	switch (status) {
	case AERO_STORE_OK:
		return "ok";
	case AERO_STORE_NOT_FOUND:
		return "not found";
	case AERO_STORE_EXISTS:
		return "already exists";
	case AERO_STORE_DENIED:
		return "access denied";
	case AERO_STORE_CHANGED:
		return "changed since the download began";
	case AERO_STORE_NO_BUCKET:
		return "no such bucket";
	default:
		return "error";
	}
}
