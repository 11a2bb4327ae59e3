/* SHA-256 of whole files, streamed: the identity of an artifact's objects. */
#ifndef AERO_ARTIFACT_DIGEST_H
#define AERO_ARTIFACT_DIGEST_H

#include <stdint.h>

/* Hashes fd's bytes from offset 0 to its end into hex (64 digits and a NUL);
 * *size gets how many bytes there were. name is for messages. 0, or -1 with
 * aero_error. */
int aero_digest_fd(int fd, const char *name, char hex[65], uint64_t *size);

/* Every byte hashed by this process so far and the CPU seconds it took, for
 * a throughput report (-vv). */
void aero_digest_totals(uint64_t *bytes, double *seconds);

#endif
