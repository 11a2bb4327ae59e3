/* OpenSSL's low-level SHA-256 on purpose: the EVP interface fetches an
 * implementation from a provider on first use, which costs about five million
 * instructions (measured with callgrind on `aero-init capture`), more than
 * the whole capture of a Debian tree. The low-level calls are deprecated in
 * OpenSSL 3 but supported throughout it. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "sha256.h"

#include "hex.h"

#include <openssl/sha.h>

void aero_sha256_hex(const void *const parts[], const size_t lengths[], size_t count, char hex[65])
{
	SHA256_CTX ctx;
	unsigned char digest[SHA256_DIGEST_LENGTH];
	SHA256_Init(&ctx);
	for (size_t i = 0; i < count; i++)
		SHA256_Update(&ctx, parts[i], lengths[i]);
	SHA256_Final(digest, &ctx);
	aero_hex_encode(digest, sizeof(digest), hex);
}
