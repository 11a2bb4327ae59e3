#include "hermetic.h"

#include "error.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* The 32-bit ABI each 64-bit architecture also runs, which a program can
 * reach without exec'ing anything (on x86_64, `int $0x80`): its system calls
 * get the same rules. x32 is left out on purpose: with x86_64 and x32 in one
 * filter, libseccomp 2.5 lets native calls through (found by the tests), so
 * x32 calls take the bad-architecture action instead, as any other ABI. */
static int add_compat_arch(scmp_filter_ctx ctx)
{
	uint32_t compat = 0;
	switch (seccomp_arch_native()) {
	case SCMP_ARCH_X86_64:
		compat = SCMP_ARCH_X86;
		break;
	case SCMP_ARCH_AARCH64:
		compat = SCMP_ARCH_ARM;
		break;
	default:
		return 0;
	}
	const int rc = seccomp_arch_add(ctx, compat);
	return rc == 0 || rc == -EEXIST ? 0 : rc;
}

/* The rules. socket(2) and socketpair(2) are filtered on their family, which
 * is in a register; socketcall(2), the 32-bit x86 multiplexer, passes its
 * arguments in memory that seccomp cannot read, so it is refused whole (the
 * kernel's direct socket calls remain for AF_UNIX). */
static int add_rules(scmp_filter_ctx ctx)
{
	const uint32_t deny = SCMP_ACT_ERRNO(EPERM);
	/* Spelled out rather than SCMP_A0(...), whose compound literal leaves
	 * datum_b to default (clang's -Wmissing-field-initializers). */
	const struct scmp_arg_cmp not_unix = {
	        .arg = 0, .op = SCMP_CMP_NE, .datum_a = AF_UNIX, .datum_b = 0};
	int rc = seccomp_rule_add(ctx, deny, SCMP_SYS(socket), 1, not_unix);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, deny, SCMP_SYS(socketpair), 1, not_unix);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, deny, SCMP_SYS(socketcall), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, deny, SCMP_SYS(io_uring_setup), 0);
	return rc;
}

/* libseccomp 2.5 exports to a file descriptor only: a memfd, read back. */
static int export_program(scmp_filter_ctx ctx, struct sock_filter **prog, unsigned short *len)
{
	const int fd = memfd_create("aero-hermetic", MFD_CLOEXEC);
	if (fd < 0)
		return aero_error_set("cannot make a memfd for the seccomp filter: %s",
		                      strerror(errno));
	int rc = seccomp_export_bpf(ctx, fd);
	struct stat st;
	if (rc < 0 || fstat(fd, &st) < 0) {
		(void)close(fd);
		return aero_error_set("cannot export the seccomp filter: %s",
		                      strerror(rc < 0 ? -rc : errno));
	}
	const size_t size = (size_t)st.st_size;
	const size_t count = size / sizeof(struct sock_filter);
	if (size == 0 || size % sizeof(struct sock_filter) != 0 || count > BPF_MAXINSNS) {
		(void)close(fd);
		return aero_error_set("the seccomp filter has an odd size (%zu bytes)", size);
	}
	*prog = malloc(size);
	if (*prog == NULL) {
		(void)close(fd);
		return aero_error_set("out of memory");
	}
	const ssize_t got = pread(fd, *prog, size, 0);
	(void)close(fd);
	if (got != (ssize_t)size) {
		free(*prog);
		*prog = NULL;
		return aero_error_set("cannot read the seccomp filter back");
	}
	*len = (unsigned short)count;
	return 0;
}

int aero_hermetic_filter_build(struct sock_filter **prog, unsigned short *len)
{
	*prog = NULL;
	*len = 0;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return aero_error_set("cannot build the hermetic seccomp filter (libseccomp)");
	/* Any other ABI's calls end the process rather than pass unfiltered. */
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc == 0)
		rc = add_compat_arch(ctx);
	if (rc == 0)
		rc = add_rules(ctx);
	if (rc < 0) {
		seccomp_release(ctx);
		return aero_error_set("cannot build the hermetic seccomp filter: %s",
		                      strerror(-rc));
	}
	rc = export_program(ctx, prog, len);
	seccomp_release(ctx);
	return rc;
}
