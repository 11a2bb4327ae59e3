#include "canonjson.h"

#include "error.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct text {
	char *data;
	size_t len, cap;
	bool failed;
};

static void append(struct text *t, const char *s, size_t n)
{
	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		while (cap < t->len + n + 1) {
			if (cap > SIZE_MAX / 2) {
				t->failed = true;
				return;
			}
			cap *= 2;
		}
		char *bigger = realloc(t->data, cap);
		if (bigger == NULL) {
			t->failed = true;
			return;
		}
		t->data = bigger;
		t->cap = cap;
	}
	memcpy(t->data + t->len, s, n);
	t->len += n;
	t->data[t->len] = '\0';
}

static void append_str(struct text *t, const char *s)
{
	append(t, s, strlen(s));
}

static void write_string(struct text *t, const char *s)
{
	append(t, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"':
			append(t, "\\\"", 2);
			break;
		case '\\':
			append(t, "\\\\", 2);
			break;
		case '\n':
			append(t, "\\n", 2);
			break;
		case '\r':
			append(t, "\\r", 2);
			break;
		case '\t':
			append(t, "\\t", 2);
			break;
		case '\b':
			append(t, "\\b", 2);
			break;
		case '\f':
			append(t, "\\f", 2);
			break;
		default:
			if (*p < 0x20) {
				char esc[8];
				(void)snprintf(esc, sizeof(esc), "\\u%04x", *p);
				append_str(t, esc);
			} else {
				append(t, (const char *)p, 1);
			}
		}
	}
	append(t, "\"", 1);
}

static void write_number(struct text *t, double v)
{
	char buf[40];
	if (!isfinite(v)) {
		append_str(t, "null");
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		(void)snprintf(buf, sizeof(buf), "%lld", (long long)v);
	else
		(void)snprintf(buf, sizeof(buf), "%.17g", v);
	append_str(t, buf);
}

/* One member of an object, for sorting by key. */
struct member {
	const cJSON *item;
};

static int compare_keys(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->item->string,
	              ((const struct member *)b)->item->string);
}

static void write_value(struct text *t, const cJSON *item);

static void write_object(struct text *t, const cJSON *object)
{
	size_t count = 0;
	for (const cJSON *c = object->child; c != NULL; c = c->next)
		count++;
	struct member *members = count ? malloc(count * sizeof(*members)) : NULL;
	if (count && members == NULL) {
		t->failed = true;
		return;
	}
	size_t i = 0;
	for (const cJSON *c = object->child; c != NULL; c = c->next)
		members[i++].item = c;
	if (count > 1)
		qsort(members, count, sizeof(*members), compare_keys);
	append(t, "{", 1);
	for (i = 0; i < count; i++) {
		if (i > 0)
			append(t, ",", 1);
		write_string(t, members[i].item->string);
		append(t, ":", 1);
		write_value(t, members[i].item);
	}
	append(t, "}", 1);
	free(members);
}

static void write_value(struct text *t, const cJSON *item)
{
	if (cJSON_IsObject(item)) {
		write_object(t, item);
	} else if (cJSON_IsArray(item)) {
		append(t, "[", 1);
		for (const cJSON *c = item->child; c != NULL; c = c->next) {
			if (c != item->child)
				append(t, ",", 1);
			write_value(t, c);
		}
		append(t, "]", 1);
	} else if (cJSON_IsString(item)) {
		write_string(t, item->valuestring != NULL ? item->valuestring : "");
	} else if (cJSON_IsNumber(item)) {
		write_number(t, item->valuedouble);
	} else if (cJSON_IsTrue(item)) {
		append_str(t, "true");
	} else if (cJSON_IsFalse(item)) {
		append_str(t, "false");
	} else {
		append_str(t, "null");
	}
}

char *aero_json_canonical(const cJSON *item)
{
	struct text t = {0};
	write_value(&t, item);
	if (t.failed) {
		free(t.data);
		aero_error_set("out of memory while writing JSON");
		return NULL;
	}
	return t.data;
}

int aero_json_fingerprint(const cJSON *item, char out[72])
{
	char *text = aero_json_canonical(item);
	if (text == NULL)
		return -1;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	const int ok = EVP_Digest(text, strlen(text), digest, &digest_len, EVP_sha256(), NULL);
	free(text);
	if (!ok || digest_len != 32)
		return aero_error_set("SHA-256 failed");
	char hex[65];
	for (size_t i = 0; i < 32; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	(void)snprintf(out, 72, "sha256:%s", hex);
	return 0;
}
