/* A progress line on stderr while artifacts move (bytes, files, rate), drawn
 * only when stderr is a terminal; NO_COLOR turns its colour off. */
#ifndef AERO_ARTIFACT_PROGRESS_H
#define AERO_ARTIFACT_PROGRESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct aero_progress {
	_Atomic uint64_t bytes, files; /* done so far, from any thread */
	uint64_t total_bytes, total_files;
	const char *label;
	double started;
	bool enabled, colour, drawn;
};

/* Room for a size from aero_progress_size. */
#define AERO_SIZE_TEXT_MAX 24

/* Sets p up; it draws only when wanted and stderr is a terminal. */
void aero_progress_init(struct aero_progress *p, const char *label, uint64_t total_bytes,
                        uint64_t total_files, bool wanted);

/* Counts bytes moved (a store progress callback: ctx is the progress). */
void aero_progress_advance(void *ctx, uint64_t bytes);

/* Counts one file or object done. */
void aero_progress_file_done(struct aero_progress *p);

/* Redraws the line (the caller paces it). */
void aero_progress_draw(struct aero_progress *p);

/* Erases the line, if one was drawn. */
void aero_progress_finish(struct aero_progress *p);

/* Writes size in bytes as "512 B", "1.5 KiB", "3.0 GiB" into buf. */
void aero_progress_size(uint64_t size, char buf[AERO_SIZE_TEXT_MAX]);

#endif
