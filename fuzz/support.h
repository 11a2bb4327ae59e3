/* What the fuzz harnesses share: a fake libcurl that answers transfers from
 * the fuzzer's input (linked in with -Wl,--wrap, see mk/fuzz.mk), temporary
 * trees for parsers that read files, and splitting an input into parts. */
#ifndef AERO_FUZZ_SUPPORT_H
#define AERO_FUZZ_SUPPORT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The parts of text (len bytes) between separators sep, at most max of them
 * (the last holds the rest); returns how many. Parts point into text. */
size_t fuzz_split(const char *text, size_t len, const char *sep, const char **parts, size_t *lens,
                  size_t max);

/* A copy of len bytes with a NUL after them, malloc'd; aborts when out of memory. */
char *fuzz_strndup(const uint8_t *data, size_t len);

/* Runs a capture probe's text parser (parse(text, out)) on the input as a
 * string, out being a new array (package lists) or object, then prints out as
 * the manifest would; aborts when out of memory. */
int fuzz_text_parser(const uint8_t *data, size_t size, int (*parse)(const char *, cJSON *),
                     bool array);

/* A directory of its own for this process (made once, under $TMPDIR or /tmp,
 * removed at exit). */
const char *fuzz_tmp_dir(void);

/* Writes len bytes to root/rel, making its directories; aborts on failure. */
void fuzz_write_file(const char *root, const char *rel, const char *data, size_t len);

/* Removes root/rel and everything under it. */
void fuzz_remove_tree(const char *root, const char *rel);

/* The fake libcurl's answers, served one per transfer in order: each part of
 * text split at "\n%%\n" is an answer of the form "STATUS\nHeader: value\n...
 * \n\nBODY" (a missing or bad status line reads as 200; no blank line: all
 * headers). Once they run out, transfers fail as with no connection. The
 * body reaches the write callback in pieces of chunk bytes (0: whole). */
void fuzz_curl_serve(const char *text, size_t len, size_t chunk);

/* How many transfers the product asked for since fuzz_curl_serve. */
size_t fuzz_curl_transfers(void);

#endif
