/* Diagnostics for Aeromancy's programs: one line each, always on stderr. */
#ifndef AERO_LOG_H
#define AERO_LOG_H

enum aero_log_level {
	AERO_LOG_ERROR = 0, /* always shown */
	AERO_LOG_WARN = 1,  /* shown by default */
	AERO_LOG_INFO = 2,  /* -v */
	AERO_LOG_DEBUG = 3, /* -vv */
};

/* Sets the program name that prefixes every line and the most verbose level shown. */
void aero_log_init(const char *program, int level);

/* The most verbose level currently shown. */
int aero_log_level(void);

/* Writes one diagnostic line to stderr with a single write(2) when level is shown. */
void aero_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Or-ed into a level: the line has no "warning: " or "debug: " prefix. */
#define AERO_LOG_PLAIN 0x100

#define aero_log_error(...) aero_log(AERO_LOG_ERROR, __VA_ARGS__)
#define aero_log_warn(...) aero_log(AERO_LOG_WARN, __VA_ARGS__)
#define aero_log_info(...) aero_log(AERO_LOG_INFO, __VA_ARGS__)
#define aero_log_debug(...) aero_log(AERO_LOG_DEBUG, __VA_ARGS__)
/* News a user wants by default (a run's URL), shown unless --quiet. */
#define aero_log_notice(...) aero_log(AERO_LOG_WARN | AERO_LOG_PLAIN, __VA_ARGS__)

#endif
