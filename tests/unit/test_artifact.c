/* Unit tests: artifact references and overrides, manifest checks (what a
 * hostile store could send), and cache sizes. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "error.h"
#include "gc.h"
#include "manifest.h"
#include "ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_names(void **state)
{
	(void)state;
	const char *good[] = {"data", "a", "0", "Data_set-1.2", "x.."};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(aero_artifact_name_check(good[i]), 0);
	const char *bad[] = {"",    ".data", "-x",  "_x", "a/b", "a b",
	                     "a:b", "a@b",   "ünï", "..", "a\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(aero_artifact_name_check(bad[i]), -1);
	char longest[130];
	memset(longest, 'a', 128);
	longest[128] = '\0';
	assert_int_equal(aero_artifact_name_check(longest), 0);
	longest[128] = 'a';
	longest[129] = '\0';
	assert_int_equal(aero_artifact_name_check(longest), -1);
	assert_non_null(strstr(aero_error_last(), "at most 128"));
}

static void test_refs(void **state)
{
	(void)state;
	struct aero_artifact_ref r;
	char text[AERO_ARTIFACT_REF_TEXT_MAX];
	assert_int_equal(aero_artifact_ref_parse("data", &r), 0);
	assert_string_equal(r.name, "data");
	assert_int_equal(r.kind, AERO_REF_LATEST);
	assert_int_equal(aero_artifact_ref_parse("data:latest", &r), 0);
	assert_int_equal(r.kind, AERO_REF_LATEST);
	aero_artifact_ref_format(&r, text);
	assert_string_equal(text, "data:latest");
	assert_int_equal(aero_artifact_ref_parse("data:v12", &r), 0);
	assert_int_equal(r.kind, AERO_REF_VERSION);
	assert_int_equal(r.version, 12);
	assert_int_equal(aero_artifact_ref_parse("data:7", &r), 0);
	assert_int_equal(r.version, 7);
	aero_artifact_ref_format(&r, text);
	assert_string_equal(text, "data:v7");
	assert_int_equal(aero_artifact_ref_parse("data@sha256:" HEX_B, &r), 0);
	assert_int_equal(r.kind, AERO_REF_DIGEST);
	assert_string_equal(r.digest, HEX_B);
	aero_artifact_ref_format(&r, text);
	assert_string_equal(text, "data@sha256:" HEX_B);
	assert_int_equal(aero_artifact_ref_parse("d.a-t_a:v9007199254740991", &r), 0);

	const char *bad[] = {
	        "",
	        ":v1",
	        "data:",
	        "data:v0",
	        "data:0",
	        "data:v01",
	        "data:v-1",
	        "data:vx",
	        "data:1.5",
	        "data:LATEST",
	        "data@",
	        "data@sha256:",
	        "data@md5:" HEX_A,
	        "data@sha256:" HEX_A "0",
	        "data@sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	        "../data",
	        "/etc/passwd",
	        "data/x",
	        "data:v1:v2",
	        "data v1",
	        "data:v9007199254740992",
	        "data:99999999999999999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (aero_artifact_ref_parse(bad[i], &r) != -1)
			fail_msg("'%s' was taken as a reference", bad[i]);
	}
	assert_int_equal(aero_artifact_ref_parse("data:v0", &r), -1);
	assert_non_null(strstr(aero_error_last(), "'data:v0'"));
}

static void test_overrides(void **state)
{
	(void)state;
	struct aero_artifact_ref r;
	bool applied = true;
	assert_int_equal(aero_artifact_ref_parse("data", &r), 0);
	assert_int_equal(aero_artifact_overrides_apply("other=v2", &r, &applied), 0);
	assert_false(applied);
	assert_int_equal(r.kind, AERO_REF_LATEST);
	assert_int_equal(aero_artifact_overrides_apply("other=v2,data=v3", &r, &applied), 0);
	assert_true(applied);
	assert_int_equal(r.kind, AERO_REF_VERSION);
	assert_int_equal(r.version, 3);
	assert_int_equal(aero_artifact_overrides_apply("data=sha256:" HEX_B ",", &r, &applied), 0);
	assert_int_equal(r.kind, AERO_REF_DIGEST);
	assert_string_equal(r.digest, HEX_B);
	assert_int_equal(aero_artifact_overrides_apply("data=latest", &r, &applied), 0);
	assert_int_equal(r.kind, AERO_REF_LATEST);
	assert_int_equal(aero_artifact_overrides_apply("", &r, &applied), 0);
	assert_false(applied);

	/* A bad entry anywhere is an error, even one for another name. */
	const char *bad[] = {
	        "data",   "data=",          "data=v0", "=v1", "other=vx,data=v1", "data=v1,data=v2",
	        "a/b=v1", "data=sha256:abc"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aero_artifact_ref copy = r;
		if (aero_artifact_overrides_apply(bad[i], &copy, &applied) != -1)
			fail_msg("overrides '%s' were taken", bad[i]);
		assert_non_null(strstr(aero_error_last(), "AERO_ARTIFACT_OVERRIDES"));
	}
	/* Empty entries are allowed. */
	assert_int_equal(aero_artifact_overrides_apply("data=v1,,other=v2", &r, &applied), 0);
	assert_int_equal(r.version, 1);
	assert_int_equal(aero_artifact_overrides_apply("data=v1,data=v2", &r, &applied), -1);
	assert_non_null(strstr(aero_error_last(), "twice"));
}

static void test_paths(void **state)
{
	(void)state;
	const char *good[] = {"a",     "a/b.csv", "ünï/cødé.txt", "a b/c", ".hidden",
	                      "a/..b", "a/b..",   "...",          "a\\b"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (aero_artifact_path_check(good[i]) != 0)
			fail_msg("'%s' was refused: %s", good[i], aero_error_last());
	const char *bad[] = {"",    "/etc/passwd", "../x", "a/../../x", "a/..",     "..",    ".",
	                     "./a", "a/.",         "a//b", "a/",        "\xff\xfe", "a/\xc3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (aero_artifact_path_check(bad[i]) != -1)
			fail_msg("'%s' was taken as a path", bad[i]);
	char component[300];
	memset(component, 'x', 256);
	component[256] = '\0';
	assert_int_equal(aero_artifact_path_check(component), -1);
}

/* Parses a manifest from a list of files written as JSON members. */
static int parse(const char *files, struct aero_artifact_manifest *m)
{
	char text[4096];
	(void)snprintf(text, sizeof(text), "{\"files\":[%s],\"schema\":\"aeromancy.artifact/1\"}",
	               files);
	return aero_artifact_manifest_parse(text, strlen(text), m);
}

#define FILE_JSON(path, hex, size, mode)                                                           \
	"{\"path\":\"" path "\",\"sha256\":\"" hex "\",\"size\":" #size ",\"mode\":\"" mode "\"}"

static void test_manifest_parse(void **state)
{
	(void)state;
	struct aero_artifact_manifest m;
	assert_int_equal(parse(FILE_JSON("a/b.csv", HEX_A, 12, "0644") "," FILE_JSON("a/c", HEX_B,
	                                                                             0, "0755"),
	                       &m),
	                 0);
	assert_int_equal(m.count, 2);
	assert_string_equal(m.files[0].path, "a/b.csv");
	assert_int_equal(m.files[0].size, 12);
	assert_false(m.files[0].exec);
	assert_true(m.files[1].exec);
	assert_int_equal(aero_artifact_manifest_size(&m), 12);
	char digest[65];
	char *text = aero_artifact_manifest_text(&m, digest);
	assert_non_null(text);
	/* Canonical: keys sorted, no spaces. */
	assert_string_equal(
	        text, "{\"files\":[{\"mode\":\"0644\",\"path\":\"a/b.csv\",\"sha256\":\"" HEX_A
	              "\",\"size\":12},{\"mode\":\"0755\",\"path\":\"a/c\",\"sha256\":\"" HEX_B
	              "\",\"size\":0}],\"schema\":\"aeromancy.artifact/1\"}");
	struct aero_artifact_manifest again;
	assert_int_equal(aero_artifact_manifest_parse(text, strlen(text), &again), 0);
	char digest2[65];
	char *text2 = aero_artifact_manifest_text(&again, digest2);
	assert_string_equal(text, text2);
	assert_string_equal(digest, digest2);
	free(text);
	free(text2);
	aero_artifact_manifest_free(&again);
	aero_artifact_manifest_free(&m);
	assert_int_equal(parse("", &m), 0);
	assert_int_equal(m.count, 0);
	aero_artifact_manifest_free(&m);
}

static void test_manifest_hostile(void **state)
{
	(void)state;
	struct aero_artifact_manifest m;
	const char *bad[] = {
	        FILE_JSON("../x", HEX_A, 1, "0644"),
	        FILE_JSON("/etc/x", HEX_A, 1, "0644"),
	        FILE_JSON("a/../../x", HEX_A, 1, "0644"),
	        FILE_JSON("", HEX_A, 1, "0644"),
	        FILE_JSON("a//b", HEX_A, 1, "0644"),
	        FILE_JSON("a", "abc", 1, "0644"),
	        FILE_JSON("a", HEX_A, -1, "0644"),
	        FILE_JSON("a", HEX_A, 1.5, "0644"),
	        FILE_JSON("a", HEX_A, 1e300, "0644"),
	        FILE_JSON("a", HEX_A, 1, "4755"),
	        FILE_JSON("a", HEX_A, 1, "0777"),
	        FILE_JSON("b", HEX_A, 1, "0644") "," FILE_JSON("a", HEX_A, 1, "0644"),
	        FILE_JSON("a", HEX_A, 1, "0644") "," FILE_JSON("a", HEX_A, 1, "0644"),
	        FILE_JSON("a", HEX_A, 1, "0644") "," FILE_JSON("a/b", HEX_A, 1, "0644"),
	        FILE_JSON("a", HEX_A, 1, "0644") "," FILE_JSON(
	                "a-b", HEX_A, 1, "0644") "," FILE_JSON("a/b", HEX_A, 1, "0644"),
	        "{\"path\":\"a\",\"sha256\":\"" HEX_A "\",\"size\":1}",
	        "{\"path\":1,\"sha256\":\"" HEX_A "\",\"size\":1,\"mode\":\"0644\"}",
	        "\"a\"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &m) != -1)
			fail_msg("manifest file %zu was taken: %s", i, bad[i]);
		assert_null(m.files);
	}
	const char *bad_docs[] = {"",
	                          "[]",
	                          "{}",
	                          "{\"files\":[]}",
	                          "{\"files\":[],\"schema\":\"aeromancy.artifact/2\"}",
	                          "{\"files\":{},\"schema\":\"aeromancy.artifact/1\"}",
	                          "{\"files\":["};
	for (size_t i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++)
		assert_int_equal(aero_artifact_manifest_parse(bad_docs[i], strlen(bad_docs[i]), &m),
		                 -1);
}

static void test_sizes(void **state)
{
	(void)state;
	uint64_t n = 0;
	assert_int_equal(aero_size_parse("0", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(aero_size_parse("123", &n), 0);
	assert_int_equal(n, 123);
	assert_int_equal(aero_size_parse("4K", &n), 0);
	assert_int_equal(n, 4096);
	assert_int_equal(aero_size_parse("500M", &n), 0);
	assert_int_equal(n, 500ull << 20);
	assert_int_equal(aero_size_parse("20g", &n), 0);
	assert_int_equal(n, 20ull << 30);
	assert_int_equal(aero_size_parse("2GiB", &n), 0);
	assert_int_equal(n, 2ull << 30);
	assert_int_equal(aero_size_parse("1T", &n), 0);
	assert_int_equal(n, 1ull << 40);
	const char *bad[] = {
	        "", "M", "1.5G", "-1", "1X", "1 G", "99999999999999999999", "20000000000T"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (aero_size_parse(bad[i], &n) != -1)
			fail_msg("'%s' was taken as a size", bad[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names),          cmocka_unit_test(test_refs),
	        cmocka_unit_test(test_overrides),      cmocka_unit_test(test_paths),
	        cmocka_unit_test(test_manifest_parse), cmocka_unit_test(test_manifest_hostile),
	        cmocka_unit_test(test_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
