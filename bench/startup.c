/* bench/startup: how long an init takes to run /bin/true, against its peers.
 *
 * Usage: startup ITERATIONS NAME=COMMAND... where COMMAND is split on spaces.
 * Runs every command once per round, in turn, for ITERATIONS rounds, so that
 * drift in the machine's load hits all of them alike; prints each median and
 * its ratio to the first. Stdout and stderr of the commands go to /dev/null. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct subject {
	const char *name;
	char **argv;
	double *samples_us;
};

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Splits "NAME=cmd arg..." into a name and an argv (modifies text). */
static int parse_subject(char *text, struct subject *s, size_t iterations)
{
	char *eq = strchr(text, '=');
	if (eq == NULL)
		return -1;
	*eq = '\0';
	s->name = text;
	size_t words = 1;
	for (const char *p = eq + 1; *p != '\0'; p++)
		words += *p == ' ';
	s->argv = calloc(words + 1, sizeof(*s->argv));
	s->samples_us = calloc(iterations, sizeof(*s->samples_us));
	if (s->argv == NULL || s->samples_us == NULL)
		return -1;
	size_t n = 0;
	char *save = NULL;
	for (char *w = strtok_r(eq + 1, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save))
		s->argv[n++] = w;
	return n == 0 ? -1 : 0;
}

static double run_once(char **argv, int devnull)
{
	const double start = now_us();
	const pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	const double elapsed = now_us() - start;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "startup: %s failed (status %d)\n", argv[0], status);
		exit(2);
	}
	return elapsed;
}

static int compare_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: startup ITERATIONS NAME=COMMAND...\n");
		return 2;
	}
	const long iterations = strtol(argv[1], NULL, 10);
	if (iterations < 1 || iterations > 1000000) {
		fprintf(stderr, "startup: ITERATIONS must be from 1 to 1000000\n");
		return 2;
	}
	const size_t count = (size_t)argc - 2;
	struct subject *subjects = calloc(count, sizeof(*subjects));
	const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (subjects == NULL || devnull < 0) {
		free(subjects);
		perror("startup");
		return 2;
	}
	for (size_t i = 0; i < count; i++) {
		if (parse_subject(argv[i + 2], &subjects[i], (size_t)iterations) < 0) {
			fprintf(stderr, "startup: bad subject '%s' (want NAME=COMMAND)\n",
			        argv[i + 2]);
			exit(2); /* the memory goes with the process */
		}
		run_once(subjects[i].argv, devnull); /* warm the page cache */
	}
	for (long round = 0; round < iterations; round++)
		for (size_t i = 0; i < count; i++)
			subjects[i].samples_us[round] = run_once(subjects[i].argv, devnull);

	printf("%-16s %12s %12s %10s\n", "subject", "median_us", "p90_us", "ratio");
	double base = 0;
	for (size_t i = 0; i < count; i++) {
		qsort(subjects[i].samples_us, (size_t)iterations, sizeof(double), compare_double);
		const double median = subjects[i].samples_us[iterations / 2];
		const double p90 = subjects[i].samples_us[(iterations * 9) / 10];
		if (i == 0)
			base = median;
		printf("%-16s %12.1f %12.1f %9.3fx\n", subjects[i].name, median, p90,
		       median / base);
		free(subjects[i].argv);
		free(subjects[i].samples_us);
	}
	free(subjects);
	close(devnull);
	return 0;
}
