/* The hermetic mode's seccomp filter: the experiment may make unix sockets
 * (the channel to aero-init) and no other kind, nor io_uring instances (which
 * can make sockets of their own). Built with libseccomp in aero-init, before
 * anything starts; the experiment's child only loads it (experiment_spawn.c). */
#ifndef AERO_SHIM_HERMETIC_H
#define AERO_SHIM_HERMETIC_H

#include <linux/filter.h>

/* Builds the filter as a classic BPF program: *prog (malloc'd) gets its
 * instructions and *len their count. 0, or -1 with aero_error set. */
int aero_hermetic_filter_build(struct sock_filter **prog, unsigned short *len);

#endif
