#include "canonjson.h"

#include "error.h"
#include "sha256.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
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

/* The escape for a byte that JSON requires escaped, or NULL. */
static const char *escape_of(unsigned char c, char buf[8])
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\n':
		return "\\n";
	case '\r':
		return "\\r";
	case '\t':
		return "\\t";
	case '\b':
		return "\\b";
	case '\f':
		return "\\f";
	default:
		if (c >= 0x20)
			return NULL;
		(void)snprintf(buf, 8, "\\u%04x", c);
		return buf;
	}
}

static void write_string(struct text *t, const char *s)
{
	append(t, "\"", 1);
	const char *run = s; /* bytes that need no escape are copied in runs */
	for (const char *p = s; *p != '\0'; p++) {
		char buf[8];
		const char *esc = escape_of((unsigned char)*p, buf);
		if (esc == NULL)
			continue;
		append(t, run, (size_t)(p - run));
		append_str(t, esc);
		run = p + 1;
	}
	append_str(t, run);
	append(t, "\"", 1);
}

static void write_number(struct text *t, double v)
{
	char buf[40];
	if (!isfinite(v)) {
		append_str(t, "null");
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		(void)snprintf(buf, sizeof(buf), "%lld", (long long)v);
	} else {
		/* The shortest of %.15g, %.16g and %.17g that reads back as v: 0.4
		 * stays 0.4, and no value changes on the way through. */
		for (int digits = 15; digits <= 17; digits++) {
			(void)snprintf(buf, sizeof(buf), "%.*g", digits, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	}
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
	const void *parts[] = {text};
	const size_t lengths[] = {strlen(text)};
	char hex[65];
	aero_sha256_hex(parts, lengths, 1, hex);
	free(text);
	(void)snprintf(out, 72, "sha256:%s", hex);
	return 0;
}
