/* The YAML writer of pristine and k8s manifests (host/yaml.c): any JSON
 * document written as YAML reads back, with libyaml, as the same tree: every
 * string the same string, and a plain scalar only where no YAML 1.1 or 1.2
 * reader would take it for a number, a boolean, null or a date. */
#include "yaml.h"

#include "log.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a YAML 1.1 or core-schema reader resolves a plain scalar to, other
 * than a string: a digit, sign or dot first (numbers, dates, .inf, .nan),
 * "~", or a reserved word. */
static int plain_is_special(const char *s)
{
	static const char *const words[] = {"y",  "n",   "yes",  "no", "true", "false",
	                                    "on", "off", "null", "~",  ".inf", ".nan"};
	if (s[0] == '\0' || strchr("0123456789+-.~", s[0]) != NULL)
		return 1;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(s, words[i]) == 0)
			return 1;
	return 0;
}

static void same_string(const yaml_node_t *node, const char *expected)
{
	if (node == NULL || node->type != YAML_SCALAR_NODE ||
	    node->data.scalar.length != strlen(expected) ||
	    memcmp(node->data.scalar.value, expected, node->data.scalar.length) != 0)
		abort();
	if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && plain_is_special(expected))
		abort();
}

static void compare(yaml_document_t *doc, const yaml_node_t *node, const cJSON *item)
{
	if (node == NULL)
		abort();
	const bool empty = (cJSON_IsObject(item) || cJSON_IsArray(item)) && item->child == NULL;
	if (cJSON_IsString(item)) {
		same_string(node, item->valuestring);
	} else if (cJSON_IsNumber(item) || cJSON_IsBool(item) || cJSON_IsNull(item) || empty) {
		if (node->type != YAML_SCALAR_NODE && !empty)
			abort();
		if (cJSON_IsNumber(item)) {
			const double back = strtod((const char *)node->data.scalar.value, NULL);
			if (back != item->valuedouble &&
			    !(fabs(item->valuedouble) >= 9007199254740992.0))
				abort();
		}
	} else if (cJSON_IsObject(item)) {
		if (node->type != YAML_MAPPING_NODE)
			abort();
		const yaml_node_pair_t *pair = node->data.mapping.pairs.start;
		for (const cJSON *c = item->child; c != NULL; c = c->next) {
			if (pair >= node->data.mapping.pairs.top)
				abort();
			same_string(yaml_document_get_node(doc, pair->key), c->string);
			compare(doc, yaml_document_get_node(doc, pair->value), c);
			pair++;
		}
		if (pair != node->data.mapping.pairs.top)
			abort();
	} else if (cJSON_IsArray(item)) {
		if (node->type != YAML_SEQUENCE_NODE)
			abort();
		const yaml_node_item_t *it = node->data.sequence.items.start;
		for (const cJSON *c = item->child; c != NULL; c = c->next) {
			if (it >= node->data.sequence.items.top)
				abort();
			compare(doc, yaml_document_get_node(doc, *it), c);
			it++;
		}
		if (it != node->data.sequence.items.top)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	aero_log_init("fuzz", -1);
	cJSON *json = cJSON_ParseWithLength((const char *)data, size);
	if (json == NULL)
		return 0;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (out == NULL)
		abort();
	const int rc = aero_yaml_write(out, json);
	fclose(out);
	if (rc == 0) {
		yaml_parser_t parser;
		yaml_document_t doc;
		if (!yaml_parser_initialize(&parser))
			abort();
		yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
		if (!yaml_parser_load(&parser, &doc)) {
			fprintf(stderr, "libyaml: %s at line %zu\n%s\n", parser.problem,
			        parser.problem_mark.line + 1, text);
			abort();
		}
		compare(&doc, yaml_document_get_root_node(&doc), json);
		yaml_document_delete(&doc);
		yaml_parser_delete(&parser);
	}
	free(text);
	cJSON_Delete(json);
	return 0;
}
