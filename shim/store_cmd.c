/* aero-init store: one store call per run, for scripts and tests. Every
 * backend is reached through store.h, so the same commands work on file://
 * and s3:// stores; the exit status tells the outcome apart. */
#include "store_cmd.h"

#include "error.h"
#include "log.h"
#include "options.h"
#include "parse.h"
#include "redact.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define COPY_CHUNK (256u << 10)

struct store_cmd {
	struct aero_store *store;
	char **args; /* after the subcommand's name and URL */
	bool if_absent;
	uint64_t offset;
	const char *if_match;
	bool verbose;
	uint64_t moved; /* bytes reported by the progress callback */
};

static void usage(FILE *out)
{
	fputs("Usage: aero-init store put URL KEY FILE [--if-absent]\n"
	      "       aero-init store get URL KEY FILE [--offset N --if-match ETAG]\n"
	      "       aero-init store head URL KEY\n"
	      "       aero-init store ls URL [PREFIX]\n"
	      "       aero-init store has URL KEY...\n"
	      "       aero-init store cat URL KEY\n"
	      "       aero-init store rm URL KEY\n"
	      "\n"
	      "Plumbing for Aeromancy's blob store at URL: file:///DIR or s3://BUCKET[/PREFIX]\n"
	      "(AWS_* variables as for the AWS CLI; see aero-init(1) and doc/store.md).\n"
	      "  put   store FILE under KEY; --if-absent: only when KEY is not there yet\n"
	      "  get   write the object into FILE; --offset N resumes at byte N (keeping\n"
	      "        FILE's first N bytes), --if-match ETAG fails unless the object is\n"
	      "        still the one with that ETag (from head)\n"
	      "  head  print {\"size\":...,\"etag\":\"...\"}\n"
	      "  ls    print \"SIZE KEY\" for each key starting with PREFIX, in byte order\n"
	      "  has   print each KEY the store has, in the order given (status 1 when\n"
	      "        one is missing); many keys cost few requests\n"
	      "  cat   write the object to standard output\n"
	      "  rm    remove KEY\n"
	      "  -v, --verbose  say on stderr how many bytes moved, and how fast\n"
	      "Exit status: 0 done, 1 no such key, 3 the key exists (--if-absent), 4 access\n"
	      "denied or no credentials, 5 the object changed (--if-match), 6 no such bucket\n"
	      "or store directory, 125 any other error (the reason on stderr).\n",
	      out);
}

static int exit_status(int status)
{
	switch (status) {
	case AERO_STORE_OK:
		return 0;
	case AERO_STORE_NOT_FOUND:
		return 1;
	case AERO_STORE_EXISTS:
		return 3;
	case AERO_STORE_DENIED:
		return 4;
	case AERO_STORE_CHANGED:
		return 5;
	case AERO_STORE_NO_BUCKET:
		return 6;
	default:
		return AERO_EXIT_INTERNAL;
	}
}

static void advance(void *ctx, uint64_t bytes)
{
	struct store_cmd *cmd = ctx;
	cmd->moved += bytes;
}

static int cmd_put(struct store_cmd *cmd, const struct aero_store_progress *progress)
{
	const char *key = cmd->args[0], *path = cmd->args[1];
	const int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		aero_error_set("cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return AERO_STORE_ERROR;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		aero_error_set("%s is not a regular file; put stores files", path);
		return AERO_STORE_ERROR;
	}
	const int rc = aero_store_put_fd(cmd->store, key, fd, (uint64_t)st.st_size, NULL,
	                                 cmd->if_absent ? AERO_STORE_IF_ABSENT : 0, progress);
	close(fd);
	return rc;
}

/* Opens path for writing; *created says whether it did not exist before. */
static int open_output(const char *path, bool truncate, bool *created)
{
	*created = false;
	int fd = open(path, O_WRONLY | O_CLOEXEC | (truncate ? O_TRUNC : 0));
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		*created = fd >= 0;
	}
	if (fd < 0)
		aero_error_set("cannot write %s: %s", path, strerror(errno));
	return fd;
}

static int cmd_get(struct store_cmd *cmd, const struct aero_store_progress *progress)
{
	const char *key = cmd->args[0], *path = cmd->args[1];
	bool created;
	const int fd = open_output(path, cmd->offset == 0, &created);
	if (fd < 0)
		return AERO_STORE_ERROR;
	struct aero_store_stat st;
	int rc = aero_store_get_fd(cmd->store, key, fd, cmd->offset, cmd->if_match, &st, progress);
	/* A file longer than the object keeps no stale tail. */
	if (rc == AERO_STORE_OK && ftruncate(fd, (off_t)st.size) < 0)
		rc = aero_error_set("cannot write %s: %s", path, strerror(errno));
	struct stat now;
	if (rc != AERO_STORE_OK && created && fstat(fd, &now) == 0 && now.st_size == 0)
		(void)unlink(path);
	if (close(fd) < 0 && rc == AERO_STORE_OK)
		rc = aero_error_set("cannot write %s: %s", path, strerror(errno));
	return rc;
}

static int cmd_head(struct store_cmd *cmd, const struct aero_store_progress *progress)
{
	(void)progress;
	struct aero_store_stat st;
	const int rc = aero_store_head(cmd->store, cmd->args[0], &st);
	if (rc != AERO_STORE_OK)
		return rc;
	cJSON *json = cJSON_CreateObject();
	char *text = NULL;
	if (json != NULL && cJSON_AddNumberToObject(json, "size", (double)st.size) != NULL &&
	    cJSON_AddStringToObject(json, "etag", st.etag) != NULL)
		text = cJSON_PrintUnformatted(json);
	cJSON_Delete(json);
	if (text == NULL)
		return aero_error_set("out of memory");
	printf("%s\n", text);
	cJSON_free(text);
	return AERO_STORE_OK;
}

static int print_entry(void *ctx, const char *key, uint64_t size)
{
	(void)ctx;
	return printf("%" PRIu64 " %s\n", size, key) < 0 ? AERO_STORE_ERROR : 0;
}

static int cmd_ls(struct store_cmd *cmd, const struct aero_store_progress *progress)
{
	(void)progress;
	const int rc = aero_store_list(cmd->store, cmd->args[0] != NULL ? cmd->args[0] : "",
	                               print_entry, NULL);
	if (rc == AERO_STORE_ERROR && ferror(stdout))
		aero_error_set("cannot write the listing: %s", strerror(errno));
	return rc;
}

static int cmd_has(struct store_cmd *cmd, const struct aero_store_progress *progress)
{
	(void)progress;
	size_t n = 0;
	while (cmd->args[n] != NULL)
		n++;
	bool *found = calloc(n + 1, sizeof(*found));
	if (found == NULL)
		return aero_error_set("out of memory");
	int rc = aero_store_exists(cmd->store, (const char *const *)cmd->args, n, found);
	size_t missing = 0;
	for (size_t i = 0; rc == AERO_STORE_OK && i < n; i++) {
		if (!found[i])
			missing++;
		else if (printf("%s\n", cmd->args[i]) < 0)
			rc = aero_error_set("cannot write to standard output: %s", strerror(errno));
	}
	if (rc == AERO_STORE_OK && missing > 0) {
		if (n == 1)
			aero_error_set("%s is not in %s", cmd->args[0], aero_store_url(cmd->store));
		else
			aero_error_set("%zu of the %zu keys %s not in %s", missing, n,
			               missing == 1 ? "is" : "are", aero_store_url(cmd->store));
		rc = AERO_STORE_NOT_FOUND;
	}
	free(found);
	return rc;
}

/* A nameless temporary file: the object goes there (with pwrite, in any
 * order), then to standard output, which may be a pipe. */
static int temp_file(void)
{
	const char *dir = getenv("TMPDIR");
	if (dir == NULL || dir[0] != '/')
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
		/* A file system without O_TMPFILE: a named one, gone at once. */
		const size_t len = strlen(dir) + sizeof("/aero-cat-XXXXXX");
		char *path = malloc(len);
		if (path == NULL)
			return aero_error_set("out of memory");
		(void)snprintf(path, len, "%s/aero-cat-XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			(void)unlink(path);
		free(path);
	}
	if (fd < 0)
		aero_error_set("cannot make a temporary file in %s: %s; set TMPDIR", dir,
		               strerror(errno));
	return fd;
}

static int copy_out(int fd)
{
	char *buf = malloc(COPY_CHUNK);
	if (buf == NULL)
		return aero_error_set("out of memory");
	int rc = AERO_STORE_OK;
	for (off_t at = 0; rc == AERO_STORE_OK;) {
		const ssize_t n = pread(fd, buf, COPY_CHUNK, at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0)
				rc = aero_error_set("cannot read the temporary file: %s",
				                    strerror(errno));
			break;
		}
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			rc = aero_error_set("cannot write to standard output: %s", strerror(errno));
		at += n;
	}
	free(buf);
	return rc;
}

static int cmd_cat(struct store_cmd *cmd, const struct aero_store_progress *progress)
{
	const int fd = temp_file();
	if (fd < 0)
		return AERO_STORE_ERROR;
	struct aero_store_stat st;
	int rc = aero_store_get_fd(cmd->store, cmd->args[0], fd, 0, NULL, &st, progress);
	if (rc == AERO_STORE_OK)
		rc = copy_out(fd);
	close(fd);
	return rc;
}

static int cmd_rm(struct store_cmd *cmd, const struct aero_store_progress *progress)
{
	(void)progress;
	return aero_store_remove(cmd->store, cmd->args[0]);
}

static const struct subcommand {
	const char *name;
	int min_args, max_args; /* after URL */
	int (*run)(struct store_cmd *cmd, const struct aero_store_progress *progress);
} subcommands[] = {
        {"put", 2, 2, cmd_put},       {"get", 2, 2, cmd_get}, {"head", 1, 1, cmd_head},
        {"ls", 0, 1, cmd_ls},         {"cat", 1, 1, cmd_cat}, {"rm", 1, 1, cmd_rm},
        {"has", 1, INT_MAX, cmd_has},
};

static int parse_options(struct store_cmd *cmd, int argc, char **argv)
{
	static const struct option options[] = {
	        {"if-absent", no_argument, NULL, 'a'},
	        {"offset", required_argument, NULL, 'o'},
	        {"if-match", required_argument, NULL, 'm'},
	        {"verbose", no_argument, NULL, 'v'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":vh", options, NULL)) != -1) {
		long offset;
		switch (c) {
		case 'a':
			cmd->if_absent = true;
			break;
		case 'o':
			if (aero_parse_int(optarg, 0, INT64_MAX, &offset) < 0) {
				aero_log_error("--offset: %s", aero_error_last());
				return -1;
			}
			cmd->offset = (uint64_t)offset;
			break;
		case 'm':
			cmd->if_match = optarg;
			break;
		case 'v':
			cmd->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			aero_log_error("%s '%.*s'; see 'aero-init store --help'",
			               c == ':' ? "option needs a value:" : "unknown option",
			               aero_arg_shown(argv[optind - 1]), argv[optind - 1]);
			return -1;
		}
	}
	return 0;
}

static void report(const struct store_cmd *cmd, const char *name, double seconds)
{
	const double mib = (double)cmd->moved / (1024.0 * 1024.0);
	aero_log_notice("%s: %" PRIu64 " bytes in %.3f s (%.1f MiB/s)", name, cmd->moved, seconds,
	                seconds > 0 ? mib / seconds : 0.0);
}

static double seconds_now(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int aero_store_main(int argc, char **argv)
{
	aero_log_init("aero-init store", AERO_LOG_WARN);
	struct store_cmd cmd = {0};
	const int parsed = parse_options(&cmd, argc, argv);
	if (parsed != 0)
		return parsed > 0 ? 0 : AERO_EXIT_INTERNAL;
	/* getopt_long moved the operands to the end: NAME URL ARGS... */
	const int operands = argc - optind;
	const struct subcommand *sub = NULL;
	for (size_t i = 0; operands > 0 && i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(argv[optind], subcommands[i].name) == 0)
			sub = &subcommands[i];
	if (sub == NULL || operands - 2 < sub->min_args || operands - 2 > sub->max_args) {
		if (operands == 0)
			aero_log_error("no command; see 'aero-init store --help'");
		else if (sub == NULL)
			aero_log_error("unknown command '%s'; see 'aero-init store --help'",
			               argv[optind]);
		else
			aero_log_error(
			        "%s: wrong number of arguments; see 'aero-init store --help'",
			        sub->name);
		return AERO_EXIT_INTERNAL;
	}
	if ((cmd.offset > 0 || cmd.if_match != NULL) && strcmp(sub->name, "get") != 0) {
		aero_log_error("--offset and --if-match are for get");
		return AERO_EXIT_INTERNAL;
	}
	if (cmd.if_absent && strcmp(sub->name, "put") != 0) {
		aero_log_error("--if-absent is for put");
		return AERO_EXIT_INTERNAL;
	}
	cmd.args = argv + optind + 2; /* NULL-terminated, as argv is */
	int rc = aero_store_open(argv[optind + 1], &cmd.store);
	const struct aero_store_progress progress = {.advance = advance, .ctx = &cmd};
	const double start = seconds_now();
	if (rc == AERO_STORE_OK)
		rc = sub->run(&cmd, &progress);
	if (rc == AERO_STORE_OK && fflush(stdout) != 0)
		rc = aero_error_set("cannot write to standard output: %s", strerror(errno));
	if (rc == AERO_STORE_OK && cmd.verbose)
		report(&cmd, sub->name, seconds_now() - start);
	if (rc != AERO_STORE_OK)
		aero_log_error("%s", aero_error_last());
	aero_store_close(cmd.store);
	return exit_status(rc);
}
