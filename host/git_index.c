/* Reading git's index file: the layout of Documentation/gitformat-index.txt
 * (big-endian; entries of versions 2 and 3 padded to 8 bytes, those of
 * version 4 with their paths prefix-compressed), every length checked
 * against the bytes there are. */
#include "git_index.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_SIZE 12
#define TRAILER_SIZE 20 /* the SHA-1 of everything before it */
/* An entry's fixed part: ten 32-bit stat fields, the object id, the flags. */
#define ENTRY_FIXED (40 + AERO_GIT_OID_SIZE + 2)
#define FLAG_EXTENDED 0x4000u
#define NAME_MASK 0xfffu

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static int corrupt(const char *what)
{
	return aero_error_set("the index file %s", what);
}

/* Git's varint (varint.c): 7 bits a byte, most significant first, each
 * continuation adding one. Returns the bytes used, or 0 when malformed. */
static size_t decode_varint(const unsigned char *p, const unsigned char *end, size_t *out)
{
	const unsigned char *start = p;
	if (p >= end)
		return 0;
	unsigned char c = *p++;
	size_t value = c & 127;
	while (c & 128) {
		value += 1;
		if (p >= end || value == 0 || value > (SIZE_MAX >> 7))
			return 0;
		c = *p++;
		value = (value << 7) + (c & 127);
	}
	*out = value;
	return (size_t)(p - start);
}

/* Grows the path store to hold need bytes. */
static int reserve(char **paths, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t bigger = *cap < 4096 ? 4096 : *cap;
	while (bigger < need)
		bigger *= 2;
	char *p = realloc(*paths, bigger);
	if (p == NULL)
		return aero_error_set("out of memory");
	*paths = p;
	*cap = bigger;
	return 0;
}

struct parser {
	const unsigned char *data;
	const unsigned char *end; /* where the trailer starts */
	uint32_t version;
	size_t at;
	size_t *offsets; /* each entry's path in paths, until paths stops moving */
	size_t used;
	size_t cap;
};

/* One entry at p->at: its fixed part into e, its path appended to the store. */
static int parse_entry(struct parser *p, struct aero_git_index *out, size_t i,
                       struct aero_git_index_entry *e)
{
	const unsigned char *d = p->data + p->at;
	if ((size_t)(p->end - d) < ENTRY_FIXED)
		return corrupt("ends inside an entry");
	uint32_t *const fields[] = {&e->ctime_sec, &e->ctime_nsec, &e->mtime_sec, &e->mtime_nsec,
	                            &e->dev,       &e->ino,        &e->mode,      &e->uid,
	                            &e->gid,       &e->size};
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
		*fields[f] = be32(d + 4 * f);
	memcpy(e->oid, d + 40, AERO_GIT_OID_SIZE);
	e->flags = be16(d + 40 + AERO_GIT_OID_SIZE);
	size_t fixed = ENTRY_FIXED;
	if (e->flags & FLAG_EXTENDED) {
		if (p->version < 3 || (size_t)(p->end - d) < fixed + 2)
			return corrupt("has an extended entry it should not have");
		e->flags_extended = be16(d + fixed);
		fixed += 2;
	}
	const unsigned char *name = d + fixed;
	size_t strip = 0, prefix = 0;
	if (p->version == 4) {
		const size_t n = decode_varint(name, p->end, &strip);
		const size_t last = i > 0 ? strlen(out->paths + p->offsets[i - 1]) : 0;
		if (n == 0 || strip > last)
			return corrupt("has a path with a bad prefix length");
		name += n;
		prefix = last - strip;
	}
	const unsigned char *nul = memchr(name, '\0', (size_t)(p->end - name));
	if (nul == NULL)
		return corrupt("ends inside a path");
	const size_t len = (size_t)(nul - name);
	if (p->version < 4 && (e->flags & NAME_MASK) != NAME_MASK && (e->flags & NAME_MASK) != len)
		return corrupt("has a path whose length is not the one its flags say");
	if (reserve(&out->paths, &p->cap, p->used + prefix + len + 1) < 0)
		return -1;
	if (prefix > 0)
		memcpy(out->paths + p->used, out->paths + p->offsets[i - 1], prefix);
	memcpy(out->paths + p->used + prefix, name, len + 1);
	p->offsets[i] = p->used;
	p->used += prefix + len + 1;
	/* Versions 2 and 3 pad each entry with 1 to 8 NULs to a multiple of 8. */
	const size_t size =
	        p->version == 4 ? (size_t)(nul + 1 - d) : (fixed + len + 8) & ~(size_t)7;
	if (size > (size_t)(p->end - d))
		return corrupt("ends inside an entry's padding");
	p->at += size;
	return 0;
}

/* The cache-tree's first entry, the root: "" NUL, its entry count (-1 when
 * not whole), SP, its subtree count, LF, and when whole its tree's id. */
static int parse_tree(const unsigned char *d, size_t size, struct aero_git_index *out)
{
	if (size < 1 || d[0] != '\0')
		return corrupt("has a cache-tree whose first entry is not the root");
	size_t at = 1;
	const bool negative = at < size && d[at] == '-';
	at += negative;
	const size_t digits = at;
	while (at < size && d[at] >= '0' && d[at] <= '9')
		at++;
	if (at == digits || at >= size || d[at] != ' ')
		return corrupt("has a cache-tree it cannot read");
	at++;
	const size_t subtrees = at;
	while (at < size && d[at] >= '0' && d[at] <= '9')
		at++;
	if (at == subtrees || at >= size || d[at] != '\n')
		return corrupt("has a cache-tree it cannot read");
	at++;
	if (negative)
		return 0;
	if (size - at < AERO_GIT_OID_SIZE)
		return corrupt("has a cache-tree it cannot read");
	memcpy(out->tree, d + at, AERO_GIT_OID_SIZE);
	out->tree_whole = true;
	return 0;
}

/* The extensions: optional ones (an upper-case first letter) are skipped but
 * the cache-tree; a required one (a split or sparse index) is not read. */
static int parse_extensions(struct parser *p, struct aero_git_index *out)
{
	while (p->at < (size_t)(p->end - p->data)) {
		const unsigned char *d = p->data + p->at;
		if ((size_t)(p->end - d) < 8)
			return corrupt("ends inside an extension's header");
		const size_t size = be32(d + 4);
		if (size > (size_t)(p->end - d) - 8)
			return corrupt("ends inside an extension");
		if (d[0] < 'A' || d[0] > 'Z')
			return aero_error_set("the index file has the extension '%.4s' (a split or "
			                      "sparse index), which this reader does not know",
			                      (const char *)d);
		if (memcmp(d, "TREE", 4) == 0 && parse_tree(d + 8, size, out) < 0)
			return -1;
		p->at += 8 + size;
	}
	return 0;
}

static bool trailer_matches(const unsigned char *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	return EVP_Digest(data, len - TRAILER_SIZE, md, &md_len, EVP_sha1(), NULL) == 1 &&
	       md_len == TRAILER_SIZE && memcmp(md, data + len - TRAILER_SIZE, TRAILER_SIZE) == 0;
}

int aero_git_index_parse(const unsigned char *data, size_t len, struct aero_git_index *out)
{
	memset(out, 0, sizeof(*out));
	if (len < HEADER_SIZE + TRAILER_SIZE || memcmp(data, "DIRC", 4) != 0)
		return corrupt("is not an index");
	struct parser p = {.data = data, .end = data + len - TRAILER_SIZE, .at = HEADER_SIZE};
	p.version = be32(data + 4);
	if (p.version < 2 || p.version > 4)
		return aero_error_set("the index file is of version %u, which this reader does not "
		                      "know",
		                      (unsigned)p.version);
	if (!trailer_matches(data, len))
		return corrupt("does not match its checksum");
	const size_t count = be32(data + 8);
	if (count > (len - HEADER_SIZE - TRAILER_SIZE) / ENTRY_FIXED)
		return corrupt("says it has more entries than it can hold");
	out->entries = calloc(count + 1, sizeof(*out->entries));
	p.offsets = calloc(count + 1, sizeof(*p.offsets));
	if (out->entries == NULL || p.offsets == NULL) {
		free(p.offsets);
		aero_git_index_free(out);
		return aero_error_set("out of memory");
	}
	int rc = 0;
	for (size_t i = 0; i < count && rc == 0; i++)
		rc = parse_entry(&p, out, i, &out->entries[i]);
	if (rc == 0)
		rc = parse_extensions(&p, out);
	if (rc == 0) {
		for (size_t i = 0; i < count; i++)
			out->entries[i].path = out->paths + p.offsets[i];
		out->count = count;
	}
	free(p.offsets);
	if (rc < 0)
		aero_git_index_free(out);
	return rc;
}

int aero_git_index_read(const char *path, struct aero_git_index *out)
{
	memset(out, 0, sizeof(*out));
	const int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		const int err = errno;
		if (fd >= 0)
			close(fd);
		return aero_error_set("cannot read the index file %s: %s", path, strerror(err));
	}
	const size_t len = (size_t)st.st_size;
	unsigned char *data = malloc(len > 0 ? len : 1);
	size_t got = 0;
	ssize_t n = 1;
	while (data != NULL && got < len && (n = read(fd, data + got, len - got)) > 0)
		got += (size_t)n;
	const int err = n < 0 ? errno : 0;
	close(fd);
	int rc;
	if (data == NULL)
		rc = aero_error_set("out of memory");
	else if (got < len)
		rc = aero_error_set("cannot read the index file %s: %s", path,
		                    err != 0 ? strerror(err) : "it got shorter");
	else
		rc = aero_git_index_parse(data, len, out);
	free(data);
	if (rc == 0)
		out->mtime_sec = (int64_t)st.st_mtim.tv_sec;
	return rc;
}

void aero_git_index_free(struct aero_git_index *index)
{
	free(index->entries);
	free(index->paths);
	memset(index, 0, sizeof(*index));
}
