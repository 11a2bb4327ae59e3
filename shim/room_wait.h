/* The end of a run whose disk had no room: what the experiment recorded and
 * aero-init could not write yet gets a bounded wait. See doc/channel.md. */
#ifndef AERO_SHIM_ROOM_WAIT_H
#define AERO_SHIM_ROOM_WAIT_H

#include "channel.h"
#include "console.h"

/* While records of channel or console (either may be NULL) wait for room on
 * the disk, tries them again, for at most patience_ms or until SIGTERM or
 * SIGINT arrives on signal_fd (a signalfd; other signals are left there). */
void aero_room_wait(struct aero_channel *channel, struct aero_console *console, int signal_fd,
                    long patience_ms);

#endif
