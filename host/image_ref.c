#include "image_ref.h"

#include "error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int aero_image_digest_valid(const char *digest)
{
	if (strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 7 + 64)
		return 0;
	return strspn(digest + 7, "0123456789abcdef") == 64;
}

/* Docker's rule for a tag: a word character first, then up to 127 of [\w.-]. */
static bool tag_valid(const char *tag)
{
	static const char word[] =
	        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
	const size_t length = strlen(tag);
	return length >= 1 && length <= 128 && strchr(word, tag[0]) != NULL &&
	       strspn(tag, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
	               length;
}

/* Path components are lowercase; a registry host may be any case, with a port. */
static bool name_valid(const char *name, size_t path_start)
{
	const size_t length = strlen(name);
	if (length == 0 || length > 255 || name[length - 1] == '/' || name[0] == '/' ||
	    strstr(name, "//") != NULL)
		return false;
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/") !=
	    length)
		return false;
	const char *path = name + path_start;
	return strspn(path, "abcdefghijklmnopqrstuvwxyz0123456789._-/") == strlen(path) &&
	       path[0] != '\0';
}

static char *dup_or_fail(const char *text, size_t length)
{
	char *copy = strndup(text, length);
	if (copy == NULL)
		aero_error_set("out of memory");
	return copy;
}

int aero_image_ref_parse(const char *text, struct aero_image_ref *ref)
{
	memset(ref, 0, sizeof(*ref));
	const char *at = strchr(text, '@');
	const size_t before_digest = at != NULL ? (size_t)(at - text) : strlen(text);
	if (at != NULL && !aero_image_digest_valid(at + 1))
		return aero_error_set("image '%s': the digest must be sha256: and 64 lowercase hex "
		                      "digits",
		                      text);
	/* A tag's ':' comes after the last '/'; an earlier one is a registry's port. */
	const char *slash = memrchr(text, '/', before_digest);
	const char *colon = memchr(slash != NULL ? slash : text, ':',
	                           before_digest - (size_t)((slash != NULL ? slash : text) - text));
	const size_t name_length = colon != NULL ? (size_t)(colon - text) : before_digest;
	const char *first_slash = memchr(text, '/', name_length);
	const size_t host_length = first_slash != NULL ? (size_t)(first_slash - text) : 0;
	const bool has_registry =
	        host_length > 0 &&
	        (memchr(text, '.', host_length) != NULL || memchr(text, ':', host_length) != NULL ||
	         (host_length == 9 && strncmp(text, "localhost", 9) == 0));
	if ((ref->name = dup_or_fail(text, name_length)) == NULL ||
	    (ref->registry = has_registry ? dup_or_fail(text, host_length)
	                                  : dup_or_fail("docker.io", 9)) == NULL)
		goto fail;
	if (!name_valid(ref->name, has_registry ? host_length + 1 : 0)) {
		aero_error_set(
		        "image '%s': '%s' is not a repository name (lowercase letters, digits, "
		        "'.', '_', '-' and '/', after an optional REGISTRY/)",
		        text, ref->name);
		goto fail;
	}
	if (colon != NULL) {
		if ((ref->tag = dup_or_fail(colon + 1, before_digest - name_length - 1)) == NULL)
			goto fail;
		if (!tag_valid(ref->tag)) {
			aero_error_set("image '%s': '%s' is not a tag (up to 128 letters, digits, "
			               "'_', '.' and '-', not starting with '.' or '-')",
			               text, ref->tag);
			goto fail;
		}
	}
	if (at != NULL && (ref->digest = dup_or_fail(at + 1, strlen(at + 1))) == NULL)
		goto fail;
	return 0;
fail:
	aero_image_ref_clear(ref);
	return -1;
}

void aero_image_ref_clear(struct aero_image_ref *ref)
{
	free(ref->name);
	free(ref->tag);
	free(ref->digest);
	free(ref->registry);
	memset(ref, 0, sizeof(*ref));
}
