/* A RUN on the command line: a run id, a unique prefix of one, or a run
 * directory's path. */
#include "runs_find.h"

#include "log.h"
#include "runsdir.h"
#include "status.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool aero_run_dir_is_run(const char *dir)
{
	char *manifest = aero_path_join(dir, "manifest.json");
	struct stat st;
	const bool yes = manifest != NULL && stat(manifest, &st) == 0 && S_ISREG(st.st_mode);
	free(manifest);
	return yes;
}

char **aero_run_ids(const char *runs, size_t *count)
{
	*count = 0;
	DIR *d = opendir(runs);
	if (d == NULL)
		return calloc(1, sizeof(char *)); /* no runs yet */
	size_t cap = 16;
	char **ids = calloc(cap + 1, sizeof(char *));
	const struct dirent *e;
	while (ids != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *dir = aero_path_join(runs, e->d_name);
		const bool run = dir != NULL && aero_run_dir_is_run(dir);
		free(dir);
		if (!run)
			continue;
		if (*count == cap) {
			char **grown = realloc(ids, (2 * cap + 1) * sizeof(char *));
			if (grown == NULL)
				break;
			ids = grown;
			cap *= 2;
		}
		ids[*count] = strdup(e->d_name);
		if (ids[*count] != NULL)
			ids[++*count] = NULL;
	}
	closedir(d);
	for (size_t i = 1; ids != NULL && i < *count; i++) /* insertion sort, descending */
		for (size_t j = i; j > 0 && strcmp(ids[j - 1], ids[j]) < 0; j--) {
			char *t = ids[j];
			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	return ids;
}

void aero_run_ids_free(char **ids)
{
	for (size_t i = 0; ids != NULL && ids[i] != NULL; i++)
		free(ids[i]);
	free(ids);
}

char *aero_run_dir_find(const char *run, int *status)
{
	*status = AERO_EXIT_INTERNAL;
	if (strchr(run, '/') != NULL || strcmp(run, ".") == 0) {
		if (aero_run_dir_is_run(run))
			return strdup(run);
		aero_log_error("%s is not a run directory (it has no manifest.json)", run);
		*status = AERO_EXIT_NO_RUN;
		return NULL;
	}
	char *runs = aero_runs_dir();
	size_t count = 0;
	char **ids = runs != NULL ? aero_run_ids(runs, &count) : NULL;
	const char *found = NULL;
	size_t matches = 0;
	for (size_t i = 0; ids != NULL && i < count; i++) {
		if (strcmp(ids[i], run) == 0) {
			found = ids[i];
			matches = 1;
			break;
		}
		if (strncmp(ids[i], run, strlen(run)) == 0) {
			found = ids[i];
			matches++;
		}
	}
	char *dir = NULL;
	if (runs == NULL || ids == NULL) {
		aero_log_error("out of memory");
	} else if (matches == 1) {
		dir = aero_path_join(runs, found);
		if (dir == NULL)
			aero_log_error("out of memory");
	} else {
		aero_log_error("%s run '%s' under %s ('aero-launch runs ls' lists them)",
		               matches == 0 ? "no" : "more than one", run, runs);
		*status = AERO_EXIT_NO_RUN;
	}
	aero_run_ids_free(ids);
	free(runs);
	return dir;
}
