/* Unit tests: /etc/passwd and /etc/group without NSS, capability names, and
 * the hermetic seccomp filter's construction. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "capnames.h"
#include "error.h"
#include "hermetic.h"
#include "userdb.h"

#include <stdlib.h>
#include <string.h>

static const char passwd[] = "root:x:0:0:root:/root:/bin/bash\n"
                             "# not a user\n"
                             "+nisuser::::::\n"
                             "broken:x:12\n"
                             "bad:x:1x:1:bad:/bad:/bin/sh\n"
                             "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\r\n"
                             "bob:x:1001:100::/home/bob:/bin/sh\n"
                             "alice2:x:1000:1002::/home/alice2:/bin/sh";

static const char group[] = "root:x:0:\n"
                            "users:x:100:alice,bob\n"
                            "data:x:2000:bob,alice\n"
                            "alicex:x:3000:alice2\n"
                            "odd:x:4000\n"
                            "video:x:44:malice,alicee,alice";

static void test_passwd(void **state)
{
	(void)state;
	struct aero_passwd_entry e;
	assert_int_equal(aero_passwd_find(passwd, "alice", 0, &e), 1);
	assert_string_equal(e.name, "alice");
	assert_int_equal(e.uid, 1000);
	assert_int_equal(e.gid, 1000);
	assert_string_equal(e.home, "/home/alice"); /* CRLF line ends too */
	aero_passwd_entry_free(&e);

	/* By number: the first line with it. */
	assert_int_equal(aero_passwd_find(passwd, NULL, 1000, &e), 1);
	assert_string_equal(e.name, "alice");
	aero_passwd_entry_free(&e);
	assert_int_equal(aero_passwd_find(passwd, NULL, 0, &e), 1);
	assert_string_equal(e.home, "/root");
	aero_passwd_entry_free(&e);

	assert_int_equal(aero_passwd_find(passwd, "nobody", 0, &e), 0);
	assert_int_equal(aero_passwd_find(passwd, "broken", 0, &e), 0);   /* too few fields */
	assert_int_equal(aero_passwd_find(passwd, "bad", 0, &e), 0);      /* uid not a number */
	assert_int_equal(aero_passwd_find(passwd, "+nisuser", 0, &e), 0); /* NIS */
	assert_int_equal(aero_passwd_find(passwd, "alic", 0, &e), 0);     /* whole names only */
	assert_int_equal(aero_passwd_find(passwd, NULL, 4242, &e), 0);
	assert_int_equal(aero_passwd_find("", "root", 0, &e), 0);
}

static void test_group(void **state)
{
	(void)state;
	gid_t gid = 0;
	assert_int_equal(aero_group_find(group, "data", &gid), 1);
	assert_int_equal(gid, 2000);
	assert_int_equal(aero_group_find(group, "odd", &gid), 0); /* three fields */
	assert_int_equal(aero_group_find(group, "dat", &gid), 0);

	gid_t *gids = NULL;
	size_t count = 0;
	assert_int_equal(aero_group_memberships(group, "alice", &gids, &count), 0);
	assert_int_equal(count, 3);
	assert_int_equal(gids[0], 100);
	assert_int_equal(gids[1], 2000);
	assert_int_equal(gids[2], 44); /* last in its list, and the file ends without '\n' */
	free(gids);
	gids = NULL;
	count = 0;
	assert_int_equal(aero_group_memberships(group, "nobody", &gids, &count), 0);
	assert_int_equal(count, 0);
	free(gids);
}

static void test_ids(void **state)
{
	(void)state;
	unsigned id = 1;
	assert_int_equal(aero_id_parse("0", 1, &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(aero_id_parse("4294967294", 10, &id), 0);
	assert_int_equal(id, 4294967294U);
	assert_int_equal(aero_id_parse("4294967295", 10, &id), -1); /* (uid_t)-1 */
	assert_int_equal(aero_id_parse("99999999999", 11, &id), -1);
	assert_int_equal(aero_id_parse("", 0, &id), -1);
	assert_int_equal(aero_id_parse("-1", 2, &id), -1);
	assert_int_equal(aero_id_parse("12a", 3, &id), -1);
}

static void test_capability_names(void **state)
{
	(void)state;
	uint64_t mask = 1;
	assert_int_equal(aero_caps_parse("none", &mask), 0);
	assert_int_equal(mask, 0);
	assert_int_equal(aero_caps_parse("cap_chown, CAP_KILL,net_bind_service", &mask), 0);
	assert_int_equal(mask, (1ULL << 0) | (1ULL << 5) | (1ULL << 10));
	assert_int_equal(aero_caps_parse("cap_chown,cap_nonsense", &mask), -1);
	assert_non_null(strstr(aero_error_last(), "'cap_nonsense'"));
	assert_int_equal(aero_caps_parse("5", &mask), -1);

	cJSON *names = aero_caps_to_json((1ULL << 10) | (1ULL << 0));
	assert_non_null(names);
	assert_int_equal(cJSON_GetArraySize(names), 2);
	assert_string_equal(cJSON_GetArrayItem(names, 0)->valuestring, "cap_chown");
	assert_string_equal(cJSON_GetArrayItem(names, 1)->valuestring, "cap_net_bind_service");
	cJSON_Delete(names);
	assert_true(aero_caps_last() >= 37); /* cap_audit_read, Linux 3.16 */
}

static void test_hermetic_filter(void **state)
{
	(void)state;
	struct sock_filter *prog = NULL;
	unsigned short len = 0;
	assert_int_equal(aero_hermetic_filter_build(&prog, &len), 0);
	assert_non_null(prog);
	assert_true(len > 10 && len < BPF_MAXINSNS);
	/* It starts by loading the architecture (seccomp_data.arch, offset 4). */
	assert_int_equal(prog[0].code, BPF_LD | BPF_W | BPF_ABS);
	assert_int_equal(prog[0].k, 4);
	free(prog);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_passwd),
	        cmocka_unit_test(test_group),
	        cmocka_unit_test(test_ids),
	        cmocka_unit_test(test_capability_names),
	        cmocka_unit_test(test_hermetic_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
