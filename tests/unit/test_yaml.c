/* Unit tests: aero-launch's YAML writer. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../host/yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *written(const cJSON *doc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	assert_non_null(out);
	assert_int_equal(aero_yaml_write(out, doc), 0);
	fclose(out);
	return text;
}

static void test_quoting(void **state)
{
	(void)state;
	cJSON *doc = cJSON_Parse("{\"a\":\"on\",\"b\":\"plain/text\",\"c\":[1,\"2\"],\"d\":{}}");
	char *text = written(doc);
	assert_string_equal(text, "---\na: \"on\"\nb: plain/text\nc:\n- 1\n- \"2\"\nd: {}\n");
	free(text);
	cJSON_Delete(doc);
}

/* Found by fuzz/fuzz_yaml.c: a key longer than YAML's 1024-character limit
 * for implicit keys was written as one, which readers refuse. */
static void test_long_key(void **state)
{
	(void)state;
	char key[1200];
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	cJSON *doc = cJSON_CreateObject();
	cJSON *inner = cJSON_AddObjectToObject(doc, key);
	cJSON_AddNumberToObject(inner, "count", 1);
	char *text = written(doc);
	assert_memory_equal(text, "---\n? kkk", 9);
	assert_non_null(strstr(text, "k\n: count: 1\n"));
	free(text);
	cJSON_Delete(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_quoting),
	        cmocka_unit_test(test_long_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
