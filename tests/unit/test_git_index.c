/* Unit tests: reading git's index file (host/git_index.c), from indexes built
 * here byte by byte: versions 2 to 4, the cache-tree's root, and every way
 * the file can be cut short or lie about itself. */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../host/git_index.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An index being built. */
struct file {
	unsigned char bytes[4096];
	size_t len;
	const char *last; /* the previous path, for version 4 */
};

static void put(struct file *f, const void *p, size_t n)
{
	assert_true(f->len + n <= sizeof(f->bytes));
	memcpy(f->bytes + f->len, p, n);
	f->len += n;
}

static void put32(struct file *f, uint32_t v)
{
	const unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
	                            (unsigned char)(v >> 8), (unsigned char)v};
	put(f, b, sizeof(b));
}

static void put16(struct file *f, uint16_t v)
{
	const unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
	put(f, b, sizeof(b));
}

static void header(struct file *f, uint32_t version, uint32_t count)
{
	f->len = 0;
	f->last = "";
	put(f, "DIRC", 4);
	put32(f, version);
	put32(f, count);
}

/* One entry whose stat fields are seed, seed + 1, ...; flags_extended is
 * written (and the extended bit set) when not 0. */
static void entry(struct file *f, uint32_t version, const char *path, uint32_t seed,
                  uint16_t flags_extended)
{
	const size_t start = f->len;
	for (uint32_t i = 0; i < 10; i++)
		put32(f, seed + i);
	unsigned char oid[AERO_GIT_OID_SIZE];
	memset(oid, (int)seed, sizeof(oid));
	put(f, oid, sizeof(oid));
	const size_t len = strlen(path);
	put16(f, (uint16_t)((flags_extended != 0 ? 0x4000 : 0) | (len < 0xfff ? len : 0xfff)));
	if (flags_extended != 0)
		put16(f, flags_extended);
	if (version == 4) {
		const size_t last = strlen(f->last);
		size_t common = 0;
		while (common < last && path[common] == f->last[common])
			common++;
		const unsigned char strip = (unsigned char)(last - common); /* < 128 here */
		put(f, &strip, 1);
		put(f, path + common, len - common + 1);
	} else {
		put(f, path, len);
		const unsigned char zeros[8] = {0};
		const size_t used = f->len - start;
		put(f, zeros, ((used + 8) & ~(size_t)7) - used);
	}
	f->last = path;
}

static void extension(struct file *f, const char *signature, const void *data, uint32_t size)
{
	put(f, signature, 4);
	put32(f, size);
	put(f, data, size);
}

static void trailer(struct file *f)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	assert_int_equal(EVP_Digest(f->bytes, f->len, md, &n, EVP_sha1(), NULL), 1);
	put(f, md, n);
}

/* A cache-tree whose root holds count entries (-1: not whole) and tree 0xab... */
static void cache_tree(struct file *f, const char *count)
{
	unsigned char data[64];
	const int n = snprintf((char *)data, sizeof(data), "%c%s 2\n", '\0', count);
	size_t len = (size_t)n;
	if (count[0] != '-') {
		memset(data + len, 0xab, AERO_GIT_OID_SIZE);
		len += AERO_GIT_OID_SIZE;
	}
	extension(f, "TREE", data, (uint32_t)len);
}

static void three_entries(struct file *f, uint32_t version)
{
	header(f, version, 3);
	entry(f, version, "lib/a.py", 100, 0);
	entry(f, version, "lib/deep/b.py", 200, version == 3 ? 0x2000 : 0);
	entry(f, version, "train.py", 300, 0);
}

static void assert_three(const struct aero_git_index *index, uint32_t version)
{
	assert_int_equal(index->count, 3);
	assert_string_equal(index->entries[0].path, "lib/a.py");
	assert_string_equal(index->entries[1].path, "lib/deep/b.py");
	assert_string_equal(index->entries[2].path, "train.py");
	const struct aero_git_index_entry *e = &index->entries[1];
	assert_int_equal(e->ctime_sec, 200);
	assert_int_equal(e->ctime_nsec, 201);
	assert_int_equal(e->mtime_sec, 202);
	assert_int_equal(e->mtime_nsec, 203);
	assert_int_equal(e->ino, 205);
	assert_int_equal(e->mode, 206);
	assert_int_equal(e->size, 209);
	assert_int_equal(e->oid[0], 200);
	assert_int_equal(e->flags & 0xfff, strlen("lib/deep/b.py"));
	assert_int_equal(e->flags_extended, version == 3 ? AERO_GIT_INDEX_INTENT_TO_ADD : 0);
}

static void test_versions_2_3_4(void **state)
{
	(void)state;
	for (uint32_t version = 2; version <= 4; version++) {
		struct file f;
		three_entries(&f, version);
		cache_tree(&f, "3");
		trailer(&f);
		struct aero_git_index index;
		assert_int_equal(aero_git_index_parse(f.bytes, f.len, &index), 0);
		assert_three(&index, version);
		assert_true(index.tree_whole);
		assert_int_equal(index.tree[0], 0xab);
		assert_int_equal(index.tree[AERO_GIT_OID_SIZE - 1], 0xab);
		aero_git_index_free(&index);
	}
}

static void test_a_cache_tree_not_whole_or_absent(void **state)
{
	(void)state;
	const char *const counts[] = {"-1", NULL};
	for (size_t i = 0; i < 2; i++) {
		struct file f;
		three_entries(&f, 2);
		if (counts[i] != NULL)
			cache_tree(&f, counts[i]);
		extension(&f, "UNTR", "anything", 8); /* optional: skipped */
		trailer(&f);
		struct aero_git_index index;
		assert_int_equal(aero_git_index_parse(f.bytes, f.len, &index), 0);
		assert_false(index.tree_whole);
		assert_int_equal(index.count, 3);
		aero_git_index_free(&index);
	}
}

static void test_an_empty_index(void **state)
{
	(void)state;
	struct file f;
	header(&f, 2, 0);
	trailer(&f);
	struct aero_git_index index;
	assert_int_equal(aero_git_index_parse(f.bytes, f.len, &index), 0);
	assert_int_equal(index.count, 0);
	aero_git_index_free(&index);
}

static void assert_refused(struct file *f)
{
	struct aero_git_index index;
	assert_int_equal(aero_git_index_parse(f->bytes, f->len, &index), -1);
	assert_null(index.entries);
	assert_null(index.paths);
}

static void test_what_it_does_not_read(void **state)
{
	(void)state;
	struct file f;
	three_entries(&f, 2);
	extension(&f, "link", "0123456789", 10); /* a split index */
	trailer(&f);
	assert_refused(&f);
	three_entries(&f, 5);
	trailer(&f);
	assert_refused(&f);
	three_entries(&f, 2);
	trailer(&f);
	f.bytes[f.len - 1] ^= 1; /* the checksum */
	assert_refused(&f);
	three_entries(&f, 2);
	f.bytes[0] = 'X';
	trailer(&f);
	assert_refused(&f);
}

static void test_lies_are_refused(void **state)
{
	(void)state;
	struct file f;
	/* More entries than there are. */
	three_entries(&f, 2);
	f.bytes[11] = 4;
	trailer(&f);
	assert_refused(&f);
	/* A name length that is not the path's. */
	three_entries(&f, 2);
	f.bytes[12 + 61] += 1;
	trailer(&f);
	assert_refused(&f);
	/* An extended entry in version 2. */
	header(&f, 2, 1);
	entry(&f, 2, "a", 1, 0x2000);
	trailer(&f);
	assert_refused(&f);
	/* Version 4: stripping more than the previous path has. */
	header(&f, 4, 2);
	entry(&f, 4, "ab", 1, 0);
	entry(&f, 4, "ac", 2, 0);
	f.bytes[f.len - 3] = 3;
	trailer(&f);
	assert_refused(&f);
	/* A cache-tree it cannot read. */
	three_entries(&f, 2);
	extension(&f, "TREE", "\0x 1\n", 5);
	trailer(&f);
	assert_refused(&f);
}

/* Every shorter file, its trailer recomputed, is refused and never read
 * past (but the one that ends where the entries do: a valid index). */
static void test_every_truncation_is_refused(void **state)
{
	(void)state;
	struct file whole;
	three_entries(&whole, 4);
	const size_t entries_end = whole.len;
	cache_tree(&whole, "3");
	const size_t body = whole.len;
	for (size_t len = 0; len < body; len++) {
		if (len == entries_end)
			continue;
		struct file f;
		memcpy(f.bytes, whole.bytes, len);
		f.len = len;
		if (len >= 12)
			trailer(&f);
		unsigned char *exact = malloc(f.len > 0 ? f.len : 1);
		assert_non_null(exact);
		memcpy(exact, f.bytes, f.len);
		struct aero_git_index index;
		assert_int_equal(aero_git_index_parse(exact, f.len, &index), -1);
		free(exact);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_versions_2_3_4),
	        cmocka_unit_test(test_a_cache_tree_not_whole_or_absent),
	        cmocka_unit_test(test_an_empty_index),
	        cmocka_unit_test(test_what_it_does_not_read),
	        cmocka_unit_test(test_lies_are_refused),
	        cmocka_unit_test(test_every_truncation_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
