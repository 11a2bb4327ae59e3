/* Unit tests: canonical JSON and the capture probes' parsers of outside text. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "canonjson.h"
#include "probes.h"

#include <stdlib.h>
#include <string.h>

static void assert_canonical(const char *json, const char *expected)
{
	cJSON *doc = cJSON_Parse(json);
	assert_non_null(doc);
	char *text = aero_json_canonical(doc);
	assert_non_null(text);
	assert_string_equal(text, expected);
	free(text);
	cJSON_Delete(doc);
}

static void test_canonical_json(void **state)
{
	(void)state;
	assert_canonical(
	        "{ \"b\": 1, \"a\": {\"z\": [3, 2, {\"y\": null, \"x\": true}], \"B\": false} }",
	        "{\"a\":{\"B\":false,\"z\":[3,2,{\"x\":true,\"y\":null}]},\"b\":1}");
	assert_canonical("[1.0, -0.0, 0.5, 1e20, 1e300, 123456789012, 9007199254740993]",
	                 "[1,0,0.5,1e+20,1e+300,123456789012,"
	                 "9007199254740992]");
	assert_canonical("\"tab\\tquote\\\"back\\\\nl\\n\\u0001\\u00e9\"",
	                 "\"tab\\tquote\\\"back\\\\nl\\n\\u0001\xc3\xa9\"");
	/* The shortest text that reads back as the same double. */
	assert_canonical("[0.4, 0.30000000000000004, 0.3333333333333333, -2.5e-8]",
	                 "[0.4,0.30000000000000004,0.3333333333333333,-2.5e-08]");
	assert_canonical("{}", "{}");
	assert_canonical("[]", "[]");
}

static void test_fingerprint_ignores_key_order(void **state)
{
	(void)state;
	cJSON *a = cJSON_Parse("{\"x\":1,\"y\":{\"p\":\"q\",\"r\":[1,2]}}");
	cJSON *b = cJSON_Parse("{\"y\":{\"r\":[1,2],\"p\":\"q\"},\"x\":1.0}");
	cJSON *c = cJSON_Parse("{\"y\":{\"r\":[2,1],\"p\":\"q\"},\"x\":1}");
	char fa[72], fb[72], fc[72];
	assert_int_equal(aero_json_fingerprint(a, fa), 0);
	assert_int_equal(aero_json_fingerprint(b, fb), 0);
	assert_int_equal(aero_json_fingerprint(c, fc), 0);
	assert_string_equal(fa, fb);
	assert_string_not_equal(fa, fc); /* array order matters */
	assert_int_equal(strlen(fa), 71);
	assert_memory_equal(fa, "sha256:", 7);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
}

static const char *member(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static void test_os_release(void **state)
{
	(void)state;
	cJSON *out = cJSON_CreateObject();
	assert_int_equal(aero_parse_os_release("# comment\nNAME=\"Debian GNU/Linux\"\nID=debian\n"
	                                       "VERSION_ID='12'\nQUOTED=\"a \\\"b\\\" c\"\n"
	                                       "ID=again\nnot a pair\n=novalue\n",
	                                       out),
	                 0);
	assert_string_equal(member(out, "NAME"), "Debian GNU/Linux");
	assert_string_equal(member(out, "VERSION_ID"), "12");
	assert_string_equal(member(out, "QUOTED"), "a \"b\" c");
	assert_string_equal(member(out, "ID"), "again");
	assert_int_equal(cJSON_GetArraySize(out), 4);
	cJSON_Delete(out);
}

static void test_dpkg_status(void **state)
{
	(void)state;
	cJSON *pkgs = cJSON_CreateArray();
	const char *status = "Package: libc6\n"
	                     "Status: install ok installed\n"
	                     "Source: glibc (2.36-9)\n"
	                     "Version: 2.36-9+deb12u14\n"
	                     "Architecture: amd64\n"
	                     "Description: GNU C Library\n"
	                     " Package: not-a-field\n"
	                     "\n"
	                     "Package: old\n"
	                     "Status: deinstall ok config-files\n"
	                     "Version: 1.0\n"
	                     "Architecture: all\n"
	                     "\n\n"
	                     "Package: purged\n"
	                     "Status: purge ok not-installed\n"
	                     "Architecture: all\n"
	                     "\n"
	                     "Package: last\n"
	                     "Status: install ok installed\n"
	                     "Version: 3\n"
	                     "Architecture: amd64";
	assert_int_equal(aero_parse_dpkg_status(status, pkgs), 0);
	assert_int_equal(cJSON_GetArraySize(pkgs), 3);
	const cJSON *libc = cJSON_GetArrayItem(pkgs, 0);
	assert_string_equal(member(libc, "name"), "libc6");
	assert_string_equal(member(libc, "source"), "glibc");
	assert_string_equal(member(libc, "version"), "2.36-9+deb12u14");
	assert_null(member(libc, "status"));
	const cJSON *old = cJSON_GetArrayItem(pkgs, 1);
	assert_string_equal(member(old, "status"), "config-files");
	assert_string_equal(member(old, "source"), "old");
	assert_string_equal(member(cJSON_GetArrayItem(pkgs, 2), "name"), "last");
	cJSON_Delete(pkgs);
}

static void test_apk_installed(void **state)
{
	(void)state;
	cJSON *pkgs = cJSON_CreateArray();
	assert_int_equal(aero_parse_apk_installed("C:Q1=\nP:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n"
	                                          "F:lib\n\nP:busybox\nV:1.36\nA:x86_64\n",
	                                          pkgs),
	                 0);
	assert_int_equal(cJSON_GetArraySize(pkgs), 2);
	assert_string_equal(member(cJSON_GetArrayItem(pkgs, 0), "origin"), "musl");
	assert_string_equal(member(cJSON_GetArrayItem(pkgs, 1), "version"), "1.36");
	cJSON_Delete(pkgs);
}

static void test_cpuinfo(void **state)
{
	(void)state;
	cJSON *out = cJSON_CreateObject();
	assert_int_equal(
	        aero_parse_cpuinfo("processor\t: 0\nvendor_id\t: AuthenticAMD\n"
	                           "cpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\n"
	                           "physical id\t: 0\ncore id\t\t: 3\n"
	                           "flags\t\t: fpu sse2 avx2 fma avx512fx\n\n"
	                           "processor\t: 1\nphysical id\t: 0\ncore id\t\t: 3\n\n"
	                           "processor\t: 2\nphysical id\t: 1\ncore id\t\t: 3\n",
	                           out),
	        0);
	assert_string_equal(member(out, "vendor"), "AuthenticAMD");
	assert_string_equal(member(out, "model"), "1");
	assert_string_equal(member(out, "model_name"), "AMD EPYC");
	assert_int_equal(cJSON_GetObjectItem(out, "logical_cpus")->valueint, 3);
	assert_int_equal(cJSON_GetObjectItem(out, "physical_cores")->valueint, 2);
	const cJSON *fp = cJSON_GetObjectItem(out, "fp_relevant");
	assert_int_equal(cJSON_GetArraySize(fp), 2); /* fma, avx2; not "avx512fx" */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(out, "flags")), 5);
	cJSON_Delete(out);
}

static void test_nvidia_information(void **state)
{
	(void)state;
	cJSON *out = cJSON_CreateObject();
	assert_int_equal(aero_parse_nvidia_information("Model: \t\t NVIDIA H200\nIRQ:   \t\t 41\n"
	                                               "GPU UUID: \t GPU-bc50\nBus Location: \t "
	                                               "0000:00:06.0\n",
	                                               out),
	                 0);
	assert_string_equal(member(out, "model"), "NVIDIA H200");
	assert_string_equal(member(out, "uuid"), "GPU-bc50");
	assert_string_equal(member(out, "bus"), "0000:00:06.0");
	cJSON_Delete(out);
	out = cJSON_CreateObject();
	assert_int_equal(aero_parse_nvidia_information("IRQ: 41\n", out), -1);
	cJSON_Delete(out);
}

static void test_smi_query(void **state)
{
	(void)state;
	cJSON *gpu = cJSON_CreateObject();
	cJSON *devices = cJSON_AddArrayToObject(gpu, "devices");
	cJSON *known = cJSON_CreateObject();
	cJSON_AddStringToObject(known, "bus", "0000:00:06.0");
	cJSON_AddStringToObject(known, "model", "NVIDIA H200");
	cJSON_AddItemToArray(devices, known);
	assert_int_equal(aero_parse_smi_query("00000000:00:06.0, NVIDIA H200, 143771, 9.0\n"
	                                      "00000001:0A:00.0, NVIDIA H100, 81559, 9.0\n"
	                                      "garbage line\n",
	                                      gpu),
	                 0);
	assert_int_equal(cJSON_GetArraySize(devices), 2);
	const cJSON *first = cJSON_GetArrayItem(devices, 0);
	assert_string_equal(member(first, "compute_capability"), "9.0");
	assert_int_equal(cJSON_GetObjectItem(first, "memory_total_mib")->valueint, 143771);
	const cJSON *second = cJSON_GetArrayItem(devices, 1);
	assert_string_equal(member(second, "bus"), "0001:0a:00.0");
	assert_string_equal(member(second, "model"), "NVIDIA H100");
	cJSON_Delete(gpu);
}

static void test_python_metadata(void **state)
{
	(void)state;
	char *name, *version;
	assert_int_equal(aero_parse_python_metadata("Metadata-Version: 2.1\nName: PyYAML\n"
	                                            "Version: 6.0\n\nName: body\n",
	                                            &name, &version),
	                 0);
	assert_string_equal(name, "PyYAML");
	assert_string_equal(version, "6.0");
	free(name);
	free(version);
	assert_int_equal(aero_parse_python_metadata("Name: x\n\nVersion: 1\n", &name, &version),
	                 -1);
	assert_null(name);
}

static void test_secret_names(void **state)
{
	(void)state;
	assert_true(aero_env_is_secret("WANDB_API_KEY"));
	assert_true(aero_env_is_secret("aws_secret_access_key"));
	assert_true(aero_env_is_secret("MLFLOW_TRACKING_PASSWORD"));
	assert_true(aero_env_is_secret("HF_TOKEN"));
	assert_true(aero_env_is_secret("--api-key"));
	assert_false(aero_env_is_secret("OMP_NUM_THREADS"));
	assert_false(aero_env_is_secret("PATH"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_canonical_json),
	        cmocka_unit_test(test_fingerprint_ignores_key_order),
	        cmocka_unit_test(test_os_release),
	        cmocka_unit_test(test_dpkg_status),
	        cmocka_unit_test(test_apk_installed),
	        cmocka_unit_test(test_cpuinfo),
	        cmocka_unit_test(test_nvidia_information),
	        cmocka_unit_test(test_python_metadata),
	        cmocka_unit_test(test_smi_query),
	        cmocka_unit_test(test_secret_names),
	};
	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
