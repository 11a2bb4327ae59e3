#include "yaml.h"

#include "error.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

/* The longest implicit key YAML allows, in characters. */
#define SIMPLE_KEY_MAX 1024

/* Words that YAML 1.1 readers (PyYAML, Go's yaml.v2) take for booleans or null. */
static const char *const reserved_words[] = {"y",     "n",  "yes", "no",  "true",
                                             "false", "on", "off", "null"};

bool aero_yaml_plain_safe(const char *text)
{
	const size_t length = strlen(text);
	/* A letter or '/' first: never a number, an indicator or a special value. */
	if (length == 0 || !((text[0] >= 'a' && text[0] <= 'z') ||
	                     (text[0] >= 'A' && text[0] <= 'Z') || text[0] == '/'))
		return false;
	for (size_t i = 0; i < length; i++) {
		const char c = text[i];
		const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		                (c >= '0' && c <= '9') || strchr("._/-@+=", c) != NULL ||
		                (c == ':' && i + 1 < length);
		if (!ok)
			return false;
	}
	for (size_t i = 0; i < sizeof(reserved_words) / sizeof(reserved_words[0]); i++)
		if (strcasecmp(text, reserved_words[i]) == 0)
			return false;
	return true;
}

/* The code point of the UTF-8 sequence at s (bytes left: avail) and its length
 * in *used; -1 when the bytes are not well-formed UTF-8. */
static int32_t utf8_decode(const unsigned char *s, size_t avail, size_t *used)
{
	if (s[0] < 0x80) {
		*used = 1;
		return s[0];
	}
	size_t n;
	int32_t cp;
	int32_t min;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return -1;
	}
	if (n > avail)
		return -1;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*used = n;
	return cp;
}

/* Writes the escape for a code point YAML does not allow as is in a
 * double-quoted scalar, or that a reader would fold; 0 when none is needed. */
static int write_escape(FILE *out, int32_t cp)
{
	static const struct {
		int32_t cp;
		const char *text;
	} named[] = {{'"', "\\\""},   {'\\', "\\\\"},     {'\n', "\\n"}, {'\t', "\\t"},
	             {'\r', "\\r"},   {0, "\\0"},         {0x85, "\\N"}, {0x2028, "\\L"},
	             {0x2029, "\\P"}, {0xfeff, "\\uFEFF"}};
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (named[i].cp == cp)
			return fputs(named[i].text, out) < 0 ? -1 : 1;
	if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0xfffe || cp == 0xffff)
		return fprintf(out, "\\u%04X", (unsigned)cp) < 0 ? -1 : 1;
	return 0;
}

static int write_quoted(FILE *out, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t left = strlen(text);
	if (fputc('"', out) == EOF)
		return -1;
	while (left > 0) {
		size_t used = 0;
		const int32_t cp = utf8_decode(s, left, &used);
		if (cp < 0)
			return -1; /* check_tree() let no such text through */
		const int escaped = write_escape(out, cp);
		if (escaped < 0 || (escaped == 0 && fwrite(s, 1, used, out) != used))
			return -1;
		s += used;
		left -= used;
	}
	return fputc('"', out) == EOF ? -1 : 0;
}

static int write_string(FILE *out, const char *text)
{
	if (aero_yaml_plain_safe(text))
		return fputs(text, out) < 0 ? -1 : 0;
	return write_quoted(out, text);
}

static int write_scalar(FILE *out, const cJSON *item)
{
	if (cJSON_IsString(item))
		return write_string(out, item->valuestring);
	if (cJSON_IsBool(item))
		return fputs(cJSON_IsTrue(item) ? "true" : "false", out) < 0 ? -1 : 0;
	if (cJSON_IsNull(item))
		return fputs("null", out) < 0 ? -1 : 0;
	if (cJSON_IsObject(item))
		return fputs("{}", out) < 0 ? -1 : 0;
	if (cJSON_IsArray(item))
		return fputs("[]", out) < 0 ? -1 : 0;
	const double d = item->valuedouble;
	/* Integers as integers: Kubernetes rejects 40.0 where it wants an int32. */
	if (d > -9007199254740992.0 && d < 9007199254740992.0 && (double)(long long)d == d)
		return fprintf(out, "%lld", (long long)d) < 0 ? -1 : 0;
	return fprintf(out, "%.17g", d) < 0 ? -1 : 0;
}

static bool is_block(const cJSON *item)
{
	return (cJSON_IsObject(item) || cJSON_IsArray(item)) && item->child != NULL;
}

static int write_block(FILE *out, const cJSON *node, int indent, bool first_inline);

/* What follows "key:" or "-": a scalar on the same line, or a nested block. */
static int write_value(FILE *out, const cJSON *value, int indent, bool after_dash)
{
	if (!is_block(value)) {
		if (fputc(' ', out) == EOF || write_scalar(out, value) < 0)
			return -1;
		return fputc('\n', out) == EOF ? -1 : 0;
	}
	if (after_dash && cJSON_IsObject(value))
		return fputc(' ', out) == EOF ? -1 : write_block(out, value, indent + 2, true);
	if (fputc('\n', out) == EOF)
		return -1;
	/* A sequence under a key sits at the key's indent, as kubectl writes it. */
	const int child_indent = cJSON_IsArray(value) && !after_dash ? indent : indent + 2;
	return write_block(out, value, child_indent, false);
}

static int write_block(FILE *out, const cJSON *node, int indent, bool first_inline)
{
	for (const cJSON *item = node->child; item != NULL; item = item->next) {
		if ((!first_inline || item != node->child) && fprintf(out, "%*s", indent, "") < 0)
			return -1;
		if (cJSON_IsArray(node)) {
			if (fputc('-', out) == EOF || write_value(out, item, indent, true) < 0)
				return -1;
			continue;
		}
		/* YAML readers take an implicit key of at most 1024 characters; a
		 * longer one, as written (up to 6 per byte escaped), goes after "?". */
		if (strlen(item->string) > SIMPLE_KEY_MAX / 6) {
			if (fputs("? ", out) == EOF || write_string(out, item->string) < 0 ||
			    fprintf(out, "\n%*s:", indent, "") < 0 ||
			    write_value(out, item, indent, true) < 0)
				return -1;
			continue;
		}
		if (write_string(out, item->string) < 0 || fputc(':', out) == EOF ||
		    write_value(out, item, indent, false) < 0)
			return -1;
	}
	return 0;
}

static bool is_utf8(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t left = strlen(text);
	while (left > 0) {
		size_t used = 0;
		if (utf8_decode(s, left, &used) < 0)
			return false;
		s += used;
		left -= used;
	}
	return true;
}

/* What YAML cannot hold is refused before anything is written. */
static int check_tree(const cJSON *node)
{
	if (node->string != NULL && !is_utf8(node->string))
		return aero_error_set("'%s' is not UTF-8 text, which YAML requires", node->string);
	if (cJSON_IsString(node) && !is_utf8(node->valuestring))
		return aero_error_set("'%s' is not UTF-8 text, which YAML requires",
		                      node->valuestring);
	if (cJSON_IsNumber(node) && !(node->valuedouble >= -1e308 && node->valuedouble <= 1e308))
		return aero_error_set("a number that is not finite cannot be written as YAML");
	for (const cJSON *item = node->child; item != NULL; item = item->next)
		if (check_tree(item) < 0)
			return -1;
	return 0;
}

int aero_yaml_write(FILE *out, const cJSON *doc)
{
	if (check_tree(doc) < 0)
		return -1;
	int rc = fputs("---\n", out) < 0 ? -1 : 0;
	if (rc == 0)
		rc = is_block(doc)
		             ? write_block(out, doc, 0, false)
		             : (write_scalar(out, doc) < 0 || fputc('\n', out) == EOF ? -1 : 0);
	if (fflush(out) != 0 || ferror(out) || rc < 0)
		return aero_error_set("cannot write the YAML document (a write error)");
	return 0;
}
