/* The version of every Aeromancy program; the Makefile passes it in. */
#ifndef AERO_VERSION_H
#define AERO_VERSION_H

#ifndef AERO_VERSION
#define AERO_VERSION "0.0.0-unknown"
#endif

#endif
