/* Listings on S3 (ListObjectsV2): list, every key below a prefix page by
 * page; and exists, which of many keys the store has. exists lists the keys'
 * common prefix from just below the first key not yet known (start-after),
 * so each page tells about every asked key up to its last one and skips the
 * stretches of the store between asked keys: an empty or small store answers
 * in one request, a big one in at most one per key. Once pages stop paying
 * (fewer than LIST_MIN_GAIN keys told per page), the rest are asked with
 * HEADs, AERO_S3_CONCURRENCY at a time. */
#include "error.h"
#include "s3_ops.h"
#include "s3_parallel.h"
#include "s3_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Listing goes on while its pages tell, on average, about this many of the
 * asked keys each: a page costs S3 what about a dozen HEADs do, and takes a
 * round trip that eight parallel HEADs would share. */
#define LIST_MIN_GAIN 16
/* What the key callback returns once every asked key is known. */
#define PROBE_DONE 1

static struct aero_s3_request list_request(const char *query)
{
	struct aero_s3_request req;
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.query = query;
	req.body_fd = -1;
	req.out_fd = -1;
	return req;
}

/* The query of one ListObjectsV2 page, its parameters sorted by name: prefix
 * is below the store's prefix, token and start_after (NULL when not given)
 * are as S3 knows them. */
static char *list_query(const struct aero_s3 *s3, const char *prefix, const char *token,
                        const char *start_after)
{
	char *full = aero_s3_concat(s3->conf.prefix, prefix, "");
	char *e_prefix = full != NULL ? aero_s3_escape(full, false) : NULL;
	char *e_token = token != NULL ? aero_s3_escape(token, false) : NULL;
	char *e_after = start_after != NULL ? aero_s3_escape(start_after, false) : NULL;
	char *query = NULL;
	if (e_prefix != NULL && (token == NULL || e_token != NULL) &&
	    (start_after == NULL || e_after != NULL)) {
		const size_t len = strlen(e_prefix) + (e_token != NULL ? strlen(e_token) : 0) +
		                   (e_after != NULL ? strlen(e_after) : 0) + 96;
		query = malloc(len);
		if (query != NULL)
			(void)snprintf(query, len, "%s%s%slist-type=2&max-keys=%u&prefix=%s%s%s",
			               e_token != NULL ? "continuation-token=" : "",
			               e_token != NULL ? e_token : "", e_token != NULL ? "&" : "",
			               s3->conf.max_keys, e_prefix,
			               e_after != NULL ? "&start-after=" : "",
			               e_after != NULL ? e_after : "");
	}
	free(full);
	free(e_prefix);
	free(e_token);
	free(e_after);
	if (query == NULL)
		aero_error_set("out of memory");
	return query;
}

/* Calls fn for each key of one page; its return value, or a store status. */
static int page_keys(const struct aero_s3 *s3, const struct aero_s3_response *res,
                     aero_store_list_fn fn, void *ctx)
{
	const char *end = res->body + res->len;
	const size_t prefix_len = strlen(s3->conf.prefix);
	struct aero_s3_xml_span contents;
	for (const char *p = res->body; (p = aero_s3_xml_find(p, end, "Contents", &contents));) {
		const char *c_end = contents.text + contents.len;
		char *key = aero_s3_xml_text(contents.text, c_end, "Key");
		char *size_text = aero_s3_xml_text(contents.text, c_end, "Size");
		char *tail = NULL;
		const unsigned long long size =
		        size_text != NULL ? strtoull(size_text, &tail, 10) : 0;
		int rc = 0;
		if (key == NULL || size_text == NULL || tail == size_text || *tail != '\0') {
			aero_error_set("S3 listed an object without a key or size in bucket %s",
			               s3->conf.bucket);
			rc = AERO_STORE_ERROR;
		} else if (strncmp(key, s3->conf.prefix, prefix_len) == 0) {
			rc = fn(ctx, key + prefix_len, size);
		}
		free(key);
		free(size_text);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Asks for the page that query names and calls fn for each of its keys:
 * fn's non-zero return value, or a store status. *truncated says whether more
 * pages follow; with token, *token gets the next one's (malloc'd). */
static int list_page(struct aero_s3 *s3, const char *query, aero_store_list_fn fn, void *ctx,
                     bool *truncated, char **token)
{
	*truncated = false;
	struct aero_s3_request req = list_request(query);
	struct aero_s3_response res;
	if (aero_s3_perform(s3, &req, &res) < 0)
		return AERO_STORE_ERROR;
	int rc;
	if (res.status != 200 || res.body == NULL)
		rc = aero_s3_fail(s3, &req, &res);
	else
		rc = page_keys(s3, &res, fn, ctx);
	if (rc == 0) {
		char *text = aero_s3_xml_text(res.body, res.body + res.len, "IsTruncated");
		*truncated = text != NULL && strcmp(text, "true") == 0;
		free(text);
		if (*truncated && token != NULL) {
			*token = aero_s3_xml_text(res.body, res.body + res.len,
			                          "NextContinuationToken");
			if (*token == NULL || (*token)[0] == '\0') {
				free(*token);
				*token = NULL;
				aero_error_set("S3 cut a listing of bucket %s short without a "
				               "continuation token",
				               s3->conf.bucket);
				rc = AERO_STORE_ERROR;
			}
		}
	}
	aero_s3_response_free(&res);
	return rc;
}

int aero_s3_list(void *state, const char *prefix, aero_store_list_fn fn, void *ctx)
{
	struct aero_s3 *s3 = state;
	char *token = NULL;
	int rc = 0;
	bool truncated = true;
	while (rc == 0 && truncated) {
		char *query = list_query(s3, prefix, token, NULL);
		free(token);
		token = NULL;
		rc = query != NULL ? list_page(s3, query, fn, ctx, &truncated, &token)
		                   : AERO_STORE_ERROR;
		free(query);
	}
	free(token);
	return rc;
}

char *aero_s3_start_after(const char *key, const char *after)
{
	size_t len = strlen(key);
	/* Back over the last character: its continuation bytes, then its lead. */
	while (len > 0 && ((unsigned char)key[len - 1] & 0xC0) == 0x80)
		len--;
	if (len > 0)
		len--;
	char *before = malloc(len + 1);
	if (before == NULL)
		return NULL;
	memcpy(before, key, len);
	before[len] = '\0';
	if (after != NULL && strcmp(after, before) > 0 && strcmp(after, key) < 0) {
		free(before);
		return strdup(after);
	}
	return before;
}

/* An asked key, and where its answer goes. */
struct probe_key {
	const char *key;
	size_t index;
};

/* An exists call under way: keys sorted, the first next of them known. */
struct probe {
	struct aero_s3 *s3;
	struct probe_key *keys;
	size_t n, next;
	bool *found;
	char *last; /* the last key listed so far, NULL before the first */
	size_t last_cap;
};

static int compare_probe_keys(const void *a, const void *b)
{
	return strcmp(((const struct probe_key *)a)->key, ((const struct probe_key *)b)->key);
}

/* A listed key: every asked key up to it is now known. */
static int probe_listed(void *ctx, const char *key, uint64_t size)
{
	(void)size;
	struct probe *p = ctx;
	int cmp;
	while (p->next < p->n && (cmp = strcmp(p->keys[p->next].key, key)) <= 0) {
		p->found[p->keys[p->next].index] = cmp == 0;
		p->next++;
	}
	if (p->next == p->n)
		return PROBE_DONE;
	const size_t len = strlen(key) + 1;
	if (p->last == NULL || len > p->last_cap) {
		char *last = realloc(p->last, len);
		if (last == NULL) {
			aero_error_set("out of memory");
			return AERO_STORE_ERROR;
		}
		p->last = last;
		p->last_cap = len;
	}
	memcpy(p->last, key, len);
	return 0;
}

/* Lists from just below the first unknown key: 0, PROBE_DONE, or a status. */
static int probe_page(struct probe *p, const char *prefix)
{
	char *after = aero_s3_start_after(p->keys[p->next].key, p->last);
	char *full = after != NULL ? aero_s3_concat(p->s3->conf.prefix, after, "") : NULL;
	char *query = NULL;
	if (full == NULL)
		aero_error_set("out of memory");
	else
		query = list_query(p->s3, prefix, NULL, after[0] != '\0' ? full : NULL);
	free(after);
	free(full);
	if (query == NULL)
		return AERO_STORE_ERROR;
	bool truncated = false;
	int rc = list_page(p->s3, query, probe_listed, p, &truncated, NULL);
	free(query);
	if (rc == 0 && !truncated) {
		/* The listing ended: whatever it did not reach is not there. */
		for (; p->next < p->n; p->next++)
			p->found[p->keys[p->next].index] = false;
		rc = PROBE_DONE;
	}
	return rc;
}

static int head_prepare(void *ctx, size_t job, struct aero_s3_request *req)
{
	const struct probe *p = ctx;
	req->method = "HEAD";
	req->key = p->keys[p->next + job].key;
	return 0;
}

static int head_finish(void *ctx, size_t job, const struct aero_s3_request *req,
                       const struct aero_s3_response *res)
{
	const struct probe *p = ctx;
	/* The listing found the bucket: a 404 is about the key. */
	if (res->status == 200 || res->status == 404) {
		p->found[p->keys[p->next + job].index] = res->status == 200;
		return 0;
	}
	return aero_s3_fail(p->s3, req, res);
}

int aero_s3_exists(void *state, const char *const *keys, size_t n, bool *found)
{
	struct probe p = {.s3 = state, .n = n, .found = found};
	if (n == 0)
		return AERO_STORE_OK;
	for (size_t i = 0; i < n; i++) {
		found[i] = false;
		if (aero_s3_key_check(keys[i]) != AERO_STORE_OK)
			return AERO_STORE_ERROR;
	}
	p.keys = calloc(n, sizeof(*p.keys));
	if (p.keys == NULL) {
		aero_error_set("out of memory");
		return AERO_STORE_ERROR;
	}
	for (size_t i = 0; i < n; i++)
		p.keys[i] = (struct probe_key){.key = keys[i], .index = i};
	qsort(p.keys, n, sizeof(*p.keys), compare_probe_keys);
	/* The sorted keys' common prefix is every key's. */
	const char *first = p.keys[0].key, *last = p.keys[n - 1].key;
	size_t common = 0;
	while (first[common] != '\0' && first[common] == last[common])
		common++;
	char *prefix = malloc(common + 1);
	int rc = AERO_STORE_OK;
	if (prefix == NULL) {
		aero_error_set("out of memory");
		rc = AERO_STORE_ERROR;
	} else {
		memcpy(prefix, first, common);
		prefix[common] = '\0';
	}
	for (size_t pages = 0; rc == AERO_STORE_OK && p.next < n; pages++) {
		if (pages > 0 && p.next < pages * LIST_MIN_GAIN) {
			const struct aero_s3_jobs jobs = {.count = n - p.next,
			                                  .prepare = head_prepare,
			                                  .finish = head_finish,
			                                  .ctx = &p};
			rc = aero_s3_jobs_run(p.s3, &jobs);
			break;
		}
		rc = probe_page(&p, prefix);
		if (rc == PROBE_DONE)
			break;
	}
	free(prefix);
	free(p.last);
	free(p.keys);
	return rc == PROBE_DONE ? AERO_STORE_OK : rc;
}
