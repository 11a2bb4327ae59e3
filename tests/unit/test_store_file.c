/* Unit tests: the file:// store backend (write once, resumable reads, sorted
 * listings, which keys exist, keys that would leave the store refused). */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	struct aero_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/aero-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char url[96];
	(void)snprintf(url, sizeof(url), "file://%s/root", f->dir);
	assert_int_equal(aero_store_open(url, &f->store), AERO_STORE_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	aero_store_close(f->store);
	char cmd[128];
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void test_put_once(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(aero_store_put_bytes(f->store, "a/b/c", "one", 3, AERO_STORE_IF_ABSENT),
	                 AERO_STORE_OK);
	assert_int_equal(aero_store_put_bytes(f->store, "a/b/c", "two", 3, AERO_STORE_IF_ABSENT),
	                 AERO_STORE_EXISTS);
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(aero_store_get_bytes(f->store, "a/b/c", 100, &data, &len), AERO_STORE_OK);
	assert_int_equal(len, 3);
	assert_string_equal(data, "one");
	free(data);
	/* Without the flag a put replaces. */
	assert_int_equal(aero_store_put_bytes(f->store, "a/b/c", "three", 5, 0), AERO_STORE_OK);
	assert_int_equal(aero_store_get_bytes(f->store, "a/b/c", 4, &data, &len), AERO_STORE_ERROR);
	struct aero_store_stat st;
	assert_int_equal(aero_store_head(f->store, "a/b/c", &st), AERO_STORE_OK);
	assert_int_equal(st.size, 5);
	assert_int_equal(aero_store_head(f->store, "a/b/none", &st), AERO_STORE_NOT_FOUND);
}

static void test_get_resumes(void **state)
{
	struct fixture *f = *state;
	char src[96], dst[96];
	(void)snprintf(src, sizeof(src), "%s/src", f->dir);
	(void)snprintf(dst, sizeof(dst), "%s/dst", f->dir);
	const int in = open(src, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(in >= 0);
	static char big[3 << 20];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 4099);
	assert_int_equal(write(in, big, sizeof(big)), sizeof(big));
	assert_int_equal(aero_store_put_fd(f->store, "objects/x", in, sizeof(big), NULL, 0, NULL),
	                 AERO_STORE_OK);
	(void)close(in);

	struct aero_store_stat st;
	const int out = open(dst, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(out >= 0);
	assert_int_equal(aero_store_head(f->store, "objects/x", &st), AERO_STORE_OK);
	/* The first half by hand, then the rest from the store. */
	assert_int_equal(pwrite(out, big, 1 << 20, 0), 1 << 20);
	assert_int_equal(aero_store_get_fd(f->store, "objects/x", out, 1 << 20, st.etag, &st, NULL),
	                 AERO_STORE_OK);
	assert_int_equal(st.size, sizeof(big));
	static char back[sizeof(big)];
	assert_int_equal(pread(out, back, sizeof(back), 0), sizeof(back));
	assert_memory_equal(back, big, sizeof(big));
	assert_int_equal(aero_store_get_fd(f->store, "objects/x", out, 1, "stale", &st, NULL),
	                 AERO_STORE_CHANGED);
	(void)close(out);
}

struct seen {
	char keys[8][32];
	int count;
};

static int remember(void *ctx, const char *key, uint64_t size)
{
	struct seen *s = ctx;
	(void)size;
	if (s->count < 8)
		(void)snprintf(s->keys[s->count], sizeof(s->keys[0]), "%s", key);
	s->count++;
	return 0;
}

static void test_list_sorted_by_prefix(void **state)
{
	struct fixture *f = *state;
	struct seen s = {0};
	assert_int_equal(aero_store_list(f->store, "", remember, &s), AERO_STORE_OK);
	assert_int_equal(s.count, 0); /* the store's directory does not exist yet */
	const char *keys[] = {"names/b/v2.json", "names/a/v10.json", "names/a/v9.json", "names/ab",
	                      "other"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(aero_store_put_bytes(f->store, keys[i], "x", 1, 0), AERO_STORE_OK);
	assert_int_equal(aero_store_list(f->store, "names/a", remember, &s), AERO_STORE_OK);
	assert_int_equal(s.count, 3);
	assert_string_equal(s.keys[0], "names/a/v10.json");
	assert_string_equal(s.keys[1], "names/a/v9.json");
	assert_string_equal(s.keys[2], "names/ab");
	s.count = 0;
	assert_int_equal(aero_store_list(f->store, "names/a/", remember, &s), AERO_STORE_OK);
	assert_int_equal(s.count, 2);
	assert_int_equal(aero_store_remove(f->store, "other"), AERO_STORE_OK);
	assert_int_equal(aero_store_remove(f->store, "other"), AERO_STORE_NOT_FOUND);
}

static void test_exists(void **state)
{
	struct fixture *f = *state;
	const char *keys[] = {"a/b", "a", "a/c", "a/b", "x/y/z"};
	bool found[5] = {true, true, true, true, true};
	/* The store's directory does not exist yet: nothing is there. */
	assert_int_equal(aero_store_exists(f->store, keys, 5, found), AERO_STORE_OK);
	for (size_t i = 0; i < 5; i++)
		assert_false(found[i]);
	assert_int_equal(aero_store_put_bytes(f->store, "a/b", "x", 1, 0), AERO_STORE_OK);
	assert_int_equal(aero_store_exists(f->store, keys, 5, found), AERO_STORE_OK);
	/* "a" is a directory here, not a key (as list would say). */
	assert_true(found[0] && !found[1] && !found[2] && found[3] && !found[4]);
	assert_int_equal(aero_store_exists(f->store, keys, 0, NULL), AERO_STORE_OK);
	const char *bad[] = {"a/b", "../x"};
	assert_int_equal(aero_store_exists(f->store, bad, 2, found), AERO_STORE_ERROR);
}

static void test_unsafe_keys_refused(void **state)
{
	struct fixture *f = *state;
	const char *bad[] = {"../x", "a/../../x", "/etc/passwd", "a//b", "a/./b", "", "a/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(aero_store_put_bytes(f->store, bad[i], "x", 1, 0),
		                 AERO_STORE_ERROR);
	struct aero_store *other = NULL;
	assert_int_equal(aero_store_open("file://relative/dir", &other), AERO_STORE_ERROR);
	assert_int_equal(aero_store_open("ftp://host/x", &other), AERO_STORE_ERROR);
	assert_null(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_put_once, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_get_resumes, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_list_sorted_by_prefix, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_exists, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_unsafe_keys_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
