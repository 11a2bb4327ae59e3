/* aero-init diff: a grouped, readable explanation of what differs between two
 * run manifests. Packages are matched by name (and architecture) and their
 * versions ordered as dpkg orders them, so that an upgrade reads as one. */
#include "diff.h"

#include "canonjson.h"
#include "error.h"
#include "files.h"
#include "jsonequal.h"
#include "log.h"
#include "options.h"
#include "redact.h"
#include "vercmp.h"

#include <ctype.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_MAX ((size_t)1024 * 1024 * 1024)

struct differ {
	cJSON *changes;
	bool failed;
};

/* Records one change; values are copied (NULL for none). */
static void add_change(struct differ *d, const char *group, const char *what, const char *kind,
                       const char *name, const cJSON *from, const cJSON *to)
{
	cJSON *c = cJSON_CreateObject();
	if (c == NULL || !cJSON_AddItemToArray(d->changes, c)) {
		cJSON_Delete(c);
		d->failed = true;
		return;
	}
	cJSON *from_copy = from != NULL ? cJSON_Duplicate(from, 1) : NULL;
	cJSON *to_copy = to != NULL ? cJSON_Duplicate(to, 1) : NULL;
	if (cJSON_AddStringToObject(c, "group", group) == NULL ||
	    cJSON_AddStringToObject(c, "what", what) == NULL ||
	    cJSON_AddStringToObject(c, "kind", kind) == NULL ||
	    cJSON_AddStringToObject(c, "name", name) == NULL ||
	    (from != NULL && (from_copy == NULL || !cJSON_AddItemToObject(c, "from", from_copy))) ||
	    (to != NULL && (to_copy == NULL || !cJSON_AddItemToObject(c, "to", to_copy))))
		d->failed = true;
}

/* The group a manifest path belongs to. */
static const char *group_of(const char *path)
{
	static const struct {
		const char *prefix, *group;
	} groups[] = {{"system.os", "os"},
	              {"system.kernel", "kernel"},
	              {"system.libc", "libc"},
	              {"system.cpu", "cpu"},
	              {"system.memory", "memory"},
	              {"system.cgroup", "limits"},
	              {"system.rlimits", "limits"},
	              {"system.container", "container"},
	              {"packages", "packages"},
	              {"gpu", "gpu"},
	              {"env", "env"},
	              {"seed", "seed"},
	              {"determinism", "determinism"},
	              {"git", "git"},
	              {"image", "image"},
	              {"k8s", "k8s"}};
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		const size_t n = strlen(groups[i].prefix);
		if (strncmp(path, groups[i].prefix, n) == 0 && (path[n] == '\0' || path[n] == '.'))
			return groups[i].group;
	}
	return "other";
}

/* What inside the group: the path less the group's own prefix. */
static const char *what_of(const char *path)
{
	/* Two kinds of limits share a group: keep "cgroup." and "rlimits.". */
	if (strncmp(path, "system.cgroup", 13) == 0 || strncmp(path, "system.rlimits", 14) == 0)
		return path + 7;
	const char *dot = strchr(path, '.');
	if (strncmp(path, "system.", 7) == 0 && dot != NULL)
		dot = strchr(dot + 1, '.');
	return dot != NULL ? dot + 1 : path;
}

static char *join_path(const char *prefix, const char *key)
{
	const size_t len = strlen(prefix) + strlen(key) + 2;
	char *path = malloc(len);
	if (path != NULL)
		(void)snprintf(path, len, "%s%s%s", prefix, *prefix ? "." : "", key);
	return path;
}

/* A string member, or "". */
static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(item) ? item->valuestring : "";
}

/* Python project names compare case- and separator-insensitively. */
static void normalise(const char *name, char *out, size_t size)
{
	size_t n = 0;
	for (; *name != '\0' && n + 1 < size; name++) {
		char c = *name;
		if (c == '_' || c == '.')
			c = '-';
		out[n++] = (char)tolower((unsigned char)c);
	}
	out[n] = '\0';
}

static void package_key(const cJSON *pkg, bool python, char *key, size_t size)
{
	if (python)
		normalise(str(pkg, "name"), key, size);
	else
		(void)snprintf(key, size, "%s:%s", str(pkg, "name"), str(pkg, "architecture"));
}

static const cJSON *find_package(const cJSON *list, const char *key, bool python)
{
	const cJSON *pkg;
	cJSON_ArrayForEach(pkg, list)
	{
		char k[512];
		package_key(pkg, python, k, sizeof(k));
		if (strcmp(k, key) == 0)
			return pkg;
	}
	return NULL;
}

/* Added, removed, upgraded and downgraded packages between two lists. */
static void diff_packages(struct differ *d, const char *what, const cJSON *a, const cJSON *b,
                          bool python)
{
	const cJSON *pkg;
	cJSON_ArrayForEach(pkg, a)
	{
		char key[512];
		package_key(pkg, python, key, sizeof(key));
		const cJSON *other = find_package(b, key, python);
		const cJSON *va = cJSON_GetObjectItemCaseSensitive(pkg, "version");
		if (other == NULL) {
			add_change(d, "packages", what, "removed", str(pkg, "name"), va, NULL);
			continue;
		}
		const cJSON *vb = cJSON_GetObjectItemCaseSensitive(other, "version");
		const int order = aero_version_compare(str(pkg, "version"), str(other, "version"));
		if (order != 0)
			add_change(d, "packages", what, order < 0 ? "upgraded" : "downgraded",
			           str(pkg, "name"), va, vb);
		else if (!aero_json_equal(pkg, other))
			add_change(d, "packages", what, "changed", str(pkg, "name"), pkg, other);
	}
	cJSON_ArrayForEach(pkg, b)
	{
		char key[512];
		package_key(pkg, python, key, sizeof(key));
		if (find_package(a, key, python) == NULL)
			add_change(d, "packages", what, "added", str(pkg, "name"), NULL,
			           cJSON_GetObjectItemCaseSensitive(pkg, "version"));
	}
}

static const cJSON *find_environment(const cJSON *list, const char *key, const char *value)
{
	const cJSON *env;
	cJSON_ArrayForEach(env, list)
	{
		if (strcmp(str(env, key), value) == 0)
			return env;
	}
	return NULL;
}

/* Environments (Python site directories, conda prefixes) matched by key,
 * then their packages by name. */
static void diff_environments(struct differ *d, const char *kind, const cJSON *a, const cJSON *b,
                              const char *key, const char *list)
{
	const cJSON *ea = cJSON_GetObjectItemCaseSensitive(a, "environments");
	const cJSON *eb = cJSON_GetObjectItemCaseSensitive(b, "environments");
	const cJSON *env;
	cJSON_ArrayForEach(env, ea)
	{
		const cJSON *other = find_environment(eb, key, str(env, key));
		if (other == NULL) {
			add_change(d, "packages", kind, "removed", str(env, key), NULL, NULL);
			continue;
		}
		const size_t len = strlen(kind) + strlen(str(env, key)) + 2;
		char *what = malloc(len);
		if (what == NULL) {
			d->failed = true;
			return;
		}
		(void)snprintf(what, len, "%s %s", kind, str(env, key));
		diff_packages(d, what, cJSON_GetObjectItemCaseSensitive(env, list),
		              cJSON_GetObjectItemCaseSensitive(other, list), true);
		free(what);
	}
	cJSON_ArrayForEach(env, eb)
	{
		if (find_environment(ea, key, str(env, key)) == NULL)
			add_change(d, "packages", kind, "added", str(env, key), NULL, NULL);
	}
}

static bool in_strings(const cJSON *list, const char *s)
{
	const cJSON *item;
	cJSON_ArrayForEach(item, list)
	{
		if (cJSON_IsString(item) && strcmp(item->valuestring, s) == 0)
			return true;
	}
	return false;
}

/* Lists of words (CPU flags): which were added, which went missing. */
static void diff_words(struct differ *d, const char *path, const cJSON *a, const cJSON *b)
{
	const cJSON *item;
	cJSON_ArrayForEach(item, a)
	{
		if (cJSON_IsString(item) && !in_strings(b, item->valuestring))
			add_change(d, group_of(path), what_of(path), "missing", item->valuestring,
			           NULL, NULL);
	}
	cJSON_ArrayForEach(item, b)
	{
		if (cJSON_IsString(item) && !in_strings(a, item->valuestring))
			add_change(d, group_of(path), what_of(path), "added", item->valuestring,
			           NULL, NULL);
	}
}

static bool is_word_list(const char *path)
{
	static const char *const lists[] = {"system.cpu.flags", "system.cpu.fp_relevant",
	                                    "system.cpu.cpuid.fp_relevant",
	                                    "system.container.evidence"};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		if (strcmp(path, lists[i]) == 0)
			return true;
	return false;
}

/* Counts follow from the lists they count; salted hashes of secrets differ
 * whenever the salt does: neither is compared. */
static bool is_compared(const char *key)
{
	return strcmp(key, "count") != 0 && strcmp(key, "salted_sha256") != 0;
}

/* Everything else: objects member by member, other values as a whole. */
static void diff_value(struct differ *d, const char *path, const cJSON *a, const cJSON *b)
{
	if (aero_json_equal(a, b))
		return;
	if (strcmp(path, "packages.dpkg.packages") == 0 ||
	    strcmp(path, "packages.apk.packages") == 0) {
		diff_packages(d, strcmp(path, "packages.dpkg.packages") == 0 ? "dpkg" : "apk", a, b,
		              false);
		return;
	}
	if (strcmp(path, "packages.python") == 0) {
		diff_environments(d, "python", a, b, "path", "distributions");
		return;
	}
	if (strcmp(path, "packages.conda") == 0) {
		diff_environments(d, "conda", a, b, "prefix", "packages");
		return;
	}
	if (is_word_list(path)) {
		diff_words(d, path, a, b);
		return;
	}
	if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
		const cJSON *member;
		cJSON_ArrayForEach(member, a)
		{
			if (!is_compared(member->string))
				continue;
			char *sub = join_path(path, member->string);
			if (sub == NULL) {
				d->failed = true;
				return;
			}
			const cJSON *other = cJSON_GetObjectItemCaseSensitive(b, member->string);
			if (other == NULL)
				add_change(d, group_of(sub), what_of(sub), "removed",
				           member->string, member, NULL);
			else
				diff_value(d, sub, member, other);
			free(sub);
		}
		cJSON_ArrayForEach(member, b)
		{
			if (cJSON_GetObjectItemCaseSensitive(a, member->string) != NULL ||
			    !is_compared(member->string))
				continue;
			char *sub = join_path(path, member->string);
			if (sub == NULL) {
				d->failed = true;
				return;
			}
			add_change(d, group_of(sub), what_of(sub), "added", member->string, NULL,
			           member);
			free(sub);
		}
		return;
	}
	const char *last = strrchr(path, '.');
	add_change(d, group_of(path), what_of(path), "changed", last != NULL ? last + 1 : path, a,
	           b);
}

cJSON *aero_manifest_diff(const cJSON *a, const cJSON *b)
{
	struct differ d = {.changes = cJSON_CreateArray()};
	if (d.changes == NULL)
		return NULL;
	cJSON *ca = cJSON_Duplicate(a, 1), *cb = cJSON_Duplicate(b, 1);
	if (ca == NULL || cb == NULL) {
		d.failed = true;
	} else {
		/* Each run has its own; they say nothing of the environment. */
		static const char *const ignored[] = {"run", "fingerprint"};
		for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
			cJSON_DeleteItemFromObjectCaseSensitive(ca, ignored[i]);
			cJSON_DeleteItemFromObjectCaseSensitive(cb, ignored[i]);
		}
		diff_value(&d, "", ca, cb);
	}
	cJSON_Delete(ca);
	cJSON_Delete(cb);
	if (d.failed) {
		cJSON_Delete(d.changes);
		return NULL;
	}
	return d.changes;
}

/* A value as a person reads it: strings bare, anything else as JSON. */
static char *show(const cJSON *value)
{
	if (value == NULL)
		return strdup("");
	if (cJSON_IsString(value))
		return strdup(value->valuestring);
	return aero_json_canonical(value);
}

static const char *const group_order[] = {
        "schema",    "git", "image",    "os",  "kernel", "libc", "cpu",         "memory", "limits",
        "container", "k8s", "packages", "gpu", "env",    "seed", "determinism", "other",
};

int aero_manifest_diff_print(const cJSON *changes, FILE *out)
{
	for (size_t g = 0; g < sizeof(group_order) / sizeof(group_order[0]); g++) {
		bool header = false;
		const cJSON *c;
		cJSON_ArrayForEach(c, changes)
		{
			if (strcmp(str(c, "group"), group_order[g]) != 0)
				continue;
			if (!header)
				fprintf(out, "%s:\n", group_order[g]);
			header = true;
			char *from = show(cJSON_GetObjectItemCaseSensitive(c, "from"));
			char *to = show(cJSON_GetObjectItemCaseSensitive(c, "to"));
			if (from == NULL || to == NULL) {
				free(from);
				free(to);
				return aero_error_set("out of memory");
			}
			/* "gpu: libraries.cublas: changed 13.1 -> 13.2" names the value once;
			 * "packages: dpkg: upgraded libssl3 ..." needs the package's name. */
			const char *what = str(c, "what"), *name = str(c, "name");
			const size_t wl = strlen(what), nl = strlen(name);
			const bool named = wl >= nl && strcmp(what + wl - nl, name) == 0 &&
			                   (wl == nl || what[wl - nl - 1] == '.');
			fprintf(out, "  %s: %s", what, str(c, "kind"));
			if (!named)
				fprintf(out, " %s", name);
			if (*from != '\0' && *to != '\0')
				fprintf(out, " %s -> %s", from, to);
			else if (*from != '\0' || *to != '\0')
				fprintf(out, " %s", *from != '\0' ? from : to);
			fputc('\n', out);
			free(from);
			free(to);
		}
	}
	return 0;
}

static cJSON *load(const char *path)
{
	char *text = aero_file_read(path, MANIFEST_MAX, NULL);
	if (text == NULL)
		return NULL;
	cJSON *doc = cJSON_Parse(text);
	free(text);
	if (doc == NULL || !cJSON_IsObject(doc) ||
	    !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(doc, "schema"))) {
		cJSON_Delete(doc);
		aero_error_set("%s is not a run manifest (JSON with a schema number)", path);
		return NULL;
	}
	return doc;
}

/* --ignore PATH: the member at the dotted PATH (git.branch) leaves both
 * documents before they are compared. */
static void drop_path(cJSON *doc, const char *path)
{
	const char *dot = strchr(path, '.');
	if (dot == NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(doc, path);
		return;
	}
	for (cJSON *member = doc != NULL ? doc->child : NULL; member != NULL; member = member->next)
		if (member->string != NULL && strlen(member->string) == (size_t)(dot - path) &&
		    strncmp(member->string, path, (size_t)(dot - path)) == 0) {
			drop_path(member, dot + 1);
			return;
		}
}

int aero_diff_main(int argc, char **argv)
{
	static const struct option long_options[] = {{"json", no_argument, NULL, 'j'},
	                                             {"ignore", required_argument, NULL, 'i'},
	                                             {"help", no_argument, NULL, 'h'},
	                                             {NULL, 0, NULL, 0}};
	bool json = false;
	/* At most one --ignore per argument: argc bounds them. */
	const char **ignored = calloc((size_t)argc + 1, sizeof(char *));
	size_t ignored_count = 0;
	if (ignored == NULL) {
		aero_log_error("diff: out of memory");
		return AERO_EXIT_INTERNAL;
	}
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+jh", long_options, NULL)) != -1) {
		if (c == 'j') {
			json = true;
		} else if (c == 'i') {
			ignored[ignored_count++] = optarg;
		} else if (c == 'h') {
			free(ignored);
			puts("Usage: aero-init diff [--json] [--ignore PATH]... A.json B.json\n"
			     "\n"
			     "Explains what differs between two run manifests, grouped: packages "
			     "added,\n"
			     "removed, upgraded or downgraded; the C library; the driver and CUDA "
			     "stack;\n"
			     "CPU flags; limits; variables; seeds. The run section (ids, times) is "
			     "not\n"
			     "compared. Exit status: 0 equivalent, 1 different, 125 bad input.\n"
			     "\n"
			     "  -j, --json       print the changes as JSON\n"
			     "      --ignore PATH  leave a member out, named by its dotted path\n"
			     "                   (git.branch)\n"
			     "  -h, --help       print this help");
			return 0;
		} else {
			free(ignored);
			aero_log_error("diff: unknown option '%.*s'; see 'aero-init diff --help'",
			               aero_arg_shown(argv[optind - 1]), argv[optind - 1]);
			return AERO_EXIT_INTERNAL;
		}
	}
	if (argc - optind != 2) {
		free(ignored);
		aero_log_error("diff: need two manifests; usage: aero-init diff [--json] "
		               "[--ignore PATH]... A.json B.json");
		return AERO_EXIT_INTERNAL;
	}
	cJSON *a = load(argv[optind]);
	cJSON *b = a != NULL ? load(argv[optind + 1]) : NULL;
	for (size_t i = 0; b != NULL && i < ignored_count; i++) {
		drop_path(a, ignored[i]);
		drop_path(b, ignored[i]);
	}
	free(ignored);
	cJSON *changes = b != NULL ? aero_manifest_diff(a, b) : NULL;
	int status = AERO_EXIT_INTERNAL;
	if (changes != NULL) {
		const int count = cJSON_GetArraySize(changes);
		status = count == 0 ? 0 : 1;
		if (json) {
			cJSON *doc = cJSON_CreateObject();
			char *text = NULL;
			if (doc != NULL &&
			    cJSON_AddBoolToObject(doc, "equivalent", count == 0) != NULL &&
			    cJSON_AddItemReferenceToObject(doc, "changes", changes))
				text = aero_json_canonical(doc);
			cJSON_Delete(doc);
			if (text == NULL)
				status = AERO_EXIT_INTERNAL;
			else
				printf("%s\n", text);
			free(text);
		} else if (count == 0) {
			printf("%s and %s are equivalent\n", argv[optind], argv[optind + 1]);
		} else {
			printf("%s and %s differ in %d place%s:\n", argv[optind], argv[optind + 1],
			       count, count == 1 ? "" : "s");
			if (aero_manifest_diff_print(changes, stdout) < 0)
				status = AERO_EXIT_INTERNAL;
		}
	}
	if (status == AERO_EXIT_INTERNAL)
		aero_log_error("diff: %s", aero_error_last());
	cJSON_Delete(changes);
	cJSON_Delete(a);
	cJSON_Delete(b);
	return status;
}
