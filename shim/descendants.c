#include "descendants.h"

#include "log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int compare_pid(const void *a, const void *b)
{
	const pid_t x = ((const struct aero_process *)a)->pid;
	const pid_t y = ((const struct aero_process *)b)->pid;
	return (x > y) - (x < y);
}

static const struct aero_process *find(const struct aero_process *table, size_t count, pid_t pid)
{
	const struct aero_process key = {.pid = pid};
	return bsearch(&key, table, count, sizeof(*table), compare_pid);
}

size_t aero_descendants_mark(struct aero_process *table, size_t count, pid_t root)
{
	if (count == 0)
		return 0;
	qsort(table, count, sizeof(*table), compare_pid);
	for (size_t i = 0; i < count; i++)
		table[i].descendant = false;

	/* Repeat until nothing changes: each pass marks one more generation at least. */
	size_t marked = 0;
	bool changed = true;
	while (changed) {
		changed = false;
		for (size_t i = 0; i < count; i++) {
			if (table[i].descendant || table[i].pid == root)
				continue;
			const struct aero_process *parent = NULL;
			if (table[i].ppid != root)
				parent = find(table, count, table[i].ppid);
			if (table[i].ppid == root || (parent != NULL && parent->descendant)) {
				table[i].descendant = true;
				marked++;
				changed = true;
			}
		}
	}
	return marked;
}

/* Parses a decimal pid that ends at `end` (or the string's end). */
static int parse_pid(const char *text, pid_t *pid, char end)
{
	char *stop = NULL;
	errno = 0;
	const long value = strtol(text, &stop, 10);
	if (errno != 0 || stop == text || (*stop != end && *stop != '\0') || value < 0 ||
	    value > INT_MAX)
		return -1;
	*pid = (pid_t)value;
	return 0;
}

/* Reads the parent pid from /proc/PID/stat; the command name may hold spaces
 * and parentheses, so parse from the last ')'. */
static int read_ppid(int proc_fd, const char *pid_name, pid_t *ppid)
{
	char path[64];
	(void)snprintf(path, sizeof(path), "%s/stat", pid_name);
	const int fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char buf[1024];
	const ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* After the name: " S PPID ..." (a state letter, then the parent). */
	const char *close_paren = strrchr(buf, ')');
	if (close_paren == NULL || close_paren[1] != ' ' || close_paren[2] == '\0' ||
	    close_paren[3] != ' ')
		return -1;
	return parse_pid(close_paren + 4, ppid, ' ');
}

/* Lists every process visible in /proc; the caller frees *table. */
static int list_processes(struct aero_process **table, size_t *count)
{
	const int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = proc_fd < 0 ? NULL : fdopendir(proc_fd);
	if (dir == NULL) {
		if (proc_fd >= 0)
			close(proc_fd);
		return -1;
	}
	size_t used = 0, capacity = 256;
	struct aero_process *list = malloc(capacity * sizeof(*list));
	if (list == NULL) {
		closedir(dir);
		return -1;
	}
	const struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (!isdigit((unsigned char)entry->d_name[0]))
			continue;
		pid_t pid, ppid;
		if (parse_pid(entry->d_name, &pid, '\0') < 0)
			continue;
		if (read_ppid(dirfd(dir), entry->d_name, &ppid) < 0)
			continue; /* exited meanwhile */
		if (used == capacity) {
			struct aero_process *bigger = realloc(list, 2 * capacity * sizeof(*list));
			if (bigger == NULL) {
				free(list);
				closedir(dir);
				return -1;
			}
			list = bigger;
			capacity *= 2;
		}
		list[used++] = (struct aero_process){.pid = pid, .ppid = ppid};
	}
	closedir(dir);
	*table = list;
	*count = used;
	return 0;
}

long aero_descendants_signal(int sig)
{
	if (getpid() == 1) {
		/* Every other process in our PID namespace descends from us. */
		if (kill(-1, sig) < 0)
			return errno == ESRCH ? 0 : -1;
		return 1;
	}

	struct aero_process *table = NULL;
	size_t count = 0;
	if (list_processes(&table, &count) < 0) {
		aero_log_warn("cannot list processes in /proc (%s); signalling children only",
		              strerror(errno));
		return -1;
	}
	aero_descendants_mark(table, count, getpid());
	long signalled = 0;
	for (size_t i = 0; i < count; i++)
		if (table[i].descendant && kill(table[i].pid, sig) == 0)
			signalled++;
	free(table);
	return signalled;
}

/* Reads the hexadecimal mask that follows `field` in /proc/PID/status. */
static int read_status_mask(pid_t pid, const char *field, unsigned long long *mask)
{
	char path[64];
	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -1;
	char line[256];
	const size_t field_len = strlen(field);
	int rc = -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, field_len) == 0 && line[field_len] == ':') {
			char *end = NULL;
			errno = 0;
			*mask = strtoull(line + field_len + 1, &end, 16);
			rc = errno == 0 && end != line + field_len + 1 ? 0 : -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

bool aero_process_has_default_action(pid_t pid, int sig)
{
	unsigned long long caught, ignored;
	if (read_status_mask(pid, "SigCgt", &caught) < 0 ||
	    read_status_mask(pid, "SigIgn", &ignored) < 0)
		return true; /* unknown: assume the default, as for most programs */
	const unsigned long long bit = 1ULL << (sig - 1);
	return !(caught & bit) && !(ignored & bit);
}
