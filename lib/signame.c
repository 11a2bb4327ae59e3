#include "signame.h"

#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

struct signal_entry {
	const char *name; /* without the SIG prefix */
	int number;
};

static const struct signal_entry signal_table[] = {
        {"HUP", SIGHUP},       {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
        {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},   {"IOT", SIGIOT},   {"BUS", SIGBUS},
        {"FPE", SIGFPE},       {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
        {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
        {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},  {"CONT", SIGCONT},
        {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
        {"URG", SIGURG},       {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
        {"PROF", SIGPROF},     {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"POLL", SIGPOLL},
        {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

/* Parses a whole decimal number in [min, max]; -1 on anything else. */
static int parse_small_number(const char *text, long min, long max, int *out)
{
	if (!isdigit((unsigned char)text[0]))
		return -1;
	char *end = NULL;
	errno = 0;
	const long value = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || value < min || value > max)
		return -1;
	*out = (int)value;
	return 0;
}

/* "RTMIN", "RTMIN+n", "RTMAX", "RTMAX-n" (prefix already stripped). */
static int parse_realtime(const char *name, int *sig)
{
	int base;
	char sign;
	if (strncasecmp(name, "RTMIN", 5) == 0) {
		base = SIGRTMIN;
		sign = '+';
	} else if (strncasecmp(name, "RTMAX", 5) == 0) {
		base = SIGRTMAX;
		sign = '-';
	} else {
		return -1;
	}
	const char *rest = name + 5;
	if (*rest == '\0') {
		*sig = base;
		return 0;
	}
	int offset;
	if (*rest != sign || parse_small_number(rest + 1, 0, SIGRTMAX - SIGRTMIN, &offset) < 0)
		return -1;
	*sig = sign == '+' ? base + offset : base - offset;
	return 0;
}

int aero_signal_parse(const char *text, int allow_zero, int *sig)
{
	if (text == NULL || *text == '\0')
		return aero_error_set("empty signal name");

	int number;
	if (parse_small_number(text, allow_zero ? 0 : 1, SIGRTMAX, &number) == 0) {
		*sig = number;
		return 0;
	}

	const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
	for (size_t i = 0; i < sizeof(signal_table) / sizeof(signal_table[0]); i++) {
		if (strcasecmp(name, signal_table[i].name) == 0) {
			*sig = signal_table[i].number;
			return 0;
		}
	}
	if (parse_realtime(name, sig) == 0)
		return 0;

	return aero_error_set("unknown signal '%s' (use a name such as TERM or SIGUSR1, "
	                      "RTMIN+N, or a number from %d to %d)",
	                      text, allow_zero ? 0 : 1, SIGRTMAX);
}

const char *aero_signal_name(int sig, char *buf, size_t size)
{
	for (size_t i = 0; i < sizeof(signal_table) / sizeof(signal_table[0]); i++) {
		if (signal_table[i].number == sig) {
			(void)snprintf(buf, size, "SIG%s", signal_table[i].name);
			return buf;
		}
	}
	if (sig == SIGRTMIN)
		(void)snprintf(buf, size, "SIGRTMIN");
	else if (sig > SIGRTMIN && sig <= SIGRTMAX)
		(void)snprintf(buf, size, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		(void)snprintf(buf, size, "signal %d", sig);
	return buf;
}
