/* packages.python: every Python environment in the tree (system site and
 * dist-packages, /usr/local, virtual environments found by their pyvenv.cfg)
 * with its distributions from *.dist-info/METADATA and *.egg-info, read as
 * files: no interpreter and no pip is run. */
#include "error.h"
#include "files.h"
#include "probes.h"

#include <dirent.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define METADATA_MAX ((size_t)4 * 1024 * 1024)

/* Where site directories live, relative to the tree; venvs are found apart. */
static const char *const site_patterns[] = {
        "/usr/lib/python3*/site-packages",       "/usr/lib/python3*/dist-packages",
        "/usr/local/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages",
        "/usr/lib64/python3*/site-packages",     "/opt/conda/lib/python3*/site-packages",
};

/* Virtual environments: a pyvenv.cfg at most VENV_DEPTH levels below one of
 * these directories (hidden ones such as .venv included). */
static const char *const venv_bases[] = {"/opt",  "/srv",  "/app",  "/workspace",
                                         "/root", "/home", "/venv", "/usr/local/venvs"};
#define VENV_DEPTH 3

int aero_parse_python_metadata(const char *text, char **name, char **version)
{
	*name = *version = NULL;
	for (const char *line = text; *line != '\0' && *line != '\n';) {
		const size_t len = strcspn(line, "\n");
		if (len > 5 && strncmp(line, "Name:", 5) == 0 && *name == NULL)
			*name = aero_line_value(line + 5);
		else if (len > 8 && strncmp(line, "Version:", 8) == 0 && *version == NULL)
			*version = aero_line_value(line + 8);
		if (line[len] == '\0')
			break;
		line += len + 1;
	}
	if (*name != NULL && *version != NULL)
		return 0;
	free(*name);
	free(*version);
	*name = *version = NULL;
	return aero_error_set("no Name and Version in the metadata");
}

static char *join(const char *a, const char *b)
{
	const size_t len = strlen(a) + strlen(b) + 2;
	char *path = malloc(len);
	if (path != NULL)
		(void)snprintf(path, len, "%s/%s", a, b);
	return path;
}

/* Reads one distribution's metadata and appends {name, version[, installer]}. */
static int add_distribution(const char *site, const char *entry, cJSON *dists)
{
	const size_t len = strlen(entry);
	const bool dist_info = len > 10 && strcmp(entry + len - 10, ".dist-info") == 0;
	char *dir = join(site, entry);
	if (dir == NULL)
		return aero_error_set("out of memory");
	struct stat st;
	const bool is_dir = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	char *meta = is_dir ? join(dir, dist_info ? "METADATA" : "PKG-INFO") : strdup(dir);
	char *text = meta != NULL ? aero_file_read(meta, METADATA_MAX, NULL) : NULL;
	char *name = NULL, *version = NULL;
	int rc = 0;
	if (text != NULL && aero_parse_python_metadata(text, &name, &version) == 0) {
		cJSON *dist = cJSON_CreateObject();
		if (dist == NULL || !cJSON_AddItemToArray(dists, dist)) {
			cJSON_Delete(dist);
			rc = aero_error_set("out of memory");
		} else if (aero_json_add_string(dist, "name", name) < 0 ||
		           aero_json_add_string(dist, "version", version) < 0) {
			rc = -1;
		} else if (dist_info) {
			char *installer_path = join(dir, "INSTALLER");
			char *installer =
			        installer_path ? aero_file_read(installer_path, 256, NULL) : NULL;
			if (installer != NULL) {
				installer[strcspn(installer, "\r\n")] = '\0';
				rc = aero_json_add_string(dist, "installer", installer);
			}
			free(installer);
			free(installer_path);
		}
	}
	free(name);
	free(version);
	free(text);
	free(meta);
	free(dir);
	return rc;
}

/* Adds {path, distributions} for one site directory, unless it has none. */
static int add_environment(const struct aero_capture_ctx *ctx, const char *site, const char *kind,
                           cJSON *environments)
{
	DIR *dir = opendir(site);
	if (dir == NULL)
		return 0;
	cJSON *env = cJSON_CreateObject();
	cJSON *dists = env != NULL ? cJSON_AddArrayToObject(env, "distributions") : NULL;
	int rc = dists != NULL ? 0 : aero_error_set("out of memory");
	const struct dirent *e;
	while (rc == 0 && (e = readdir(dir)) != NULL) {
		const size_t len = strlen(e->d_name);
		if ((len > 10 && strcmp(e->d_name + len - 10, ".dist-info") == 0) ||
		    (len > 9 && strcmp(e->d_name + len - 9, ".egg-info") == 0))
			rc = add_distribution(site, e->d_name, dists);
	}
	closedir(dir);
	if (rc == 0 && cJSON_GetArraySize(dists) > 0) {
		rc = aero_json_sort_array(dists, "name", "version");
		if (rc == 0 && (aero_json_add_string(env, "path", site + strlen(ctx->root)) < 0 ||
		                aero_json_add_string(env, "kind", kind) < 0 ||
		                aero_json_add_number(env, "count", cJSON_GetArraySize(dists)) < 0))
			rc = -1;
		if (rc == 0 && !cJSON_AddItemToArray(environments, env))
			rc = aero_error_set("out of memory");
		if (rc == 0)
			return 0;
	}
	cJSON_Delete(env);
	return rc;
}

/* The tree's root with glob's special characters escaped, then pattern. */
static char *root_pattern(const struct aero_capture_ctx *ctx, const char *pattern)
{
	const size_t len = 2 * strlen(ctx->root) + strlen(pattern) + 1;
	char *out = malloc(len);
	if (out == NULL)
		return NULL;
	size_t n = 0;
	for (const char *p = ctx->root; *p != '\0'; p++) {
		if (strchr("*?[\\", *p) != NULL)
			out[n++] = '\\';
		out[n++] = *p;
	}
	memcpy(out + n, pattern, strlen(pattern) + 1);
	return out;
}

/* Calls fn on each match of pattern in the tree. */
static int for_each_match(const struct aero_capture_ctx *ctx, const char *pattern, const char *kind,
                          cJSON *environments,
                          int (*fn)(const struct aero_capture_ctx *, const char *, const char *,
                                    cJSON *))
{
	char *full = root_pattern(ctx, pattern);
	if (full == NULL)
		return aero_error_set("out of memory");
	glob_t g;
	int rc = 0;
	if (glob(full, 0, NULL, &g) == 0) {
		for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
			rc = fn(ctx, g.gl_pathv[i], kind, environments);
		globfree(&g);
	}
	free(full);
	return rc;
}

/* Looks for pyvenv.cfg in dir and below; a venv's site-packages are
 * lib/python3.N/site-packages beside it. Symbolic links are not followed. */
static int find_venvs(const struct aero_capture_ctx *ctx, const char *dir, int depth,
                      cJSON *environments)
{
	char *cfg = join(dir, "pyvenv.cfg");
	if (cfg == NULL)
		return aero_error_set("out of memory");
	struct stat st;
	const bool is_venv = stat(cfg, &st) == 0 && S_ISREG(st.st_mode);
	free(cfg);
	if (is_venv) {
		char *pattern = join(dir + strlen(ctx->root), "lib/python3*/site-packages");
		const int rc = pattern != NULL ? for_each_match(ctx, pattern, "venv", environments,
		                                                add_environment)
		                               : aero_error_set("out of memory");
		free(pattern);
		return rc;
	}
	DIR *d = depth > 0 ? opendir(dir) : NULL;
	if (d == NULL)
		return 0;
	int rc = 0;
	const struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			continue;
		char *sub = join(dir, e->d_name);
		if (sub == NULL) {
			rc = aero_error_set("out of memory");
			break;
		}
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			rc = find_venvs(ctx, sub, depth - 1, environments);
		free(sub);
	}
	closedir(d);
	return rc;
}

/* On the running system, every interpreter whose bin/ is on PATH counts
 * wherever it lives: a venv (activated, or put there by an image's ENV), or a
 * prefix of its own such as /opt/python or ~/.local. */
static int find_path_venvs(const struct aero_capture_ctx *ctx, cJSON *environments)
{
	const char *path = getenv("PATH");
	char *dirs = ctx->live && path != NULL ? strdup(path) : NULL;
	char *save = NULL;
	int rc = 0;
	for (char *d = dirs != NULL ? strtok_r(dirs, ":", &save) : NULL; d != NULL && rc == 0;
	     d = strtok_r(NULL, ":", &save)) {
		const size_t len = strlen(d);
		if (len <= 4 || strcmp(d + len - 4, "/bin") != 0 || d[0] != '/')
			continue;
		d[len - 4] = '\0'; /* the venv is bin/'s parent */
		if (*d == '\0')
			continue;
		bool seen = false; /* found already under one of the usual places? */
		const cJSON *env;
		cJSON_ArrayForEach(env, environments)
		{
			const cJSON *p = cJSON_GetObjectItemCaseSensitive(env, "path");
			seen = seen ||
			       (cJSON_IsString(p) && strncmp(p->valuestring, d, len - 4) == 0 &&
			        p->valuestring[len - 4] == '/');
		}
		if (seen)
			continue;
		const int before = cJSON_GetArraySize(environments);
		rc = find_venvs(ctx, d, 0, environments);
		if (rc == 0 && cJSON_GetArraySize(environments) == before) {
			char *pattern = join(d, "lib/python3*/site-packages");
			rc = pattern != NULL ? for_each_match(ctx, pattern, "interpreter",
			                                      environments, add_environment)
			                     : aero_error_set("out of memory");
			free(pattern);
		}
	}
	free(dirs);
	return rc;
}

int aero_probe_python(const struct aero_capture_ctx *ctx, cJSON *part)
{
	cJSON *environments = aero_json_add_array(part, "environments");
	if (environments == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(site_patterns) / sizeof(site_patterns[0]); i++)
		if (for_each_match(ctx, site_patterns[i], "system", environments, add_environment) <
		    0)
			return -1;
	for (size_t i = 0; i < sizeof(venv_bases) / sizeof(venv_bases[0]); i++) {
		char *base = aero_root_path(ctx, venv_bases[i]);
		const int rc = base != NULL ? find_venvs(ctx, base, VENV_DEPTH, environments) : -1;
		free(base);
		if (rc < 0)
			return -1;
	}
	if (find_path_venvs(ctx, environments) < 0)
		return -1;
	return aero_json_sort_array(environments, "path", NULL);
}
