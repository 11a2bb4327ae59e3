/* aero-launch runs: the runs recorded under the runs directory (runsdir.h),
 * listed, shown and compared. A RUN is a run id, a unique prefix of one, or a
 * run directory's path. Comparing and delivering are aero-init's jobs
 * (`aero-init diff`, `aero-init sync`): aero-launch runs it. */
#include "runs_cmd.h"

#include "error.h"
#include "file.h"
#include "init_diff.h"
#include "init_path.h"
#include "log.h"
#include "runs_find.h"
#include "runsdir.h"
#include "status.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JSON_MAX ((size_t)64 << 20)

static void usage(FILE *out)
{
	fputs("Usage: aero-launch runs ls [--json]\n"
	      "       aero-launch runs show [--json] RUN\n"
	      "       aero-launch runs diff [--json] RUN RUN\n"
	      "       aero-launch sync [--tracker LIST] [--timeout DURATION] RUN\n"
	      "\n"
	      "The runs recorded on this machine (under AERO_RUNS_DIR, else\n"
	      "~/.local/share/aeromancy/runs). RUN is a run id, a unique prefix of one, or a\n"
	      "run directory. 'ls' lists them, newest first; 'show' tells one's outcome,\n"
	      "provenance (a pipeline task's pipeline run too), summary and trackers; 'diff'\n"
	      "explains how two runs' environments differ (aero-init diff: exit 0 same, 1\n"
	      "different); 'sync' delivers what the run's trackers do not have yet\n"
	      "(aero-init sync).\n"
	      "  --json  print JSON instead of text\n"
	      "Exit status: 0, 2 usage, 75 no such run, 74 a run cannot be read.\n",
	      out);
}

static const char *str_at(const cJSON *json, const char *section, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(
	        section != NULL ? cJSON_GetObjectItemCaseSensitive(json, section) : json, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* One run's facts, as `show --json` prints them and `ls` lists them. */
static cJSON *facts(const char *dir, bool full)
{
	cJSON *manifest = aero_file_read_json(dir, "manifest.json", JSON_MAX);
	cJSON *run = aero_file_read_json(dir, "run.json", JSON_MAX);
	cJSON *out = cJSON_CreateObject();
	if (out == NULL) {
		cJSON_Delete(manifest);
		cJSON_Delete(run);
		return NULL;
	}
	cJSON_AddStringToObject(out, "dir", dir);
	const char *id = str_at(manifest, "run", "id");
	cJSON_AddStringToObject(out, "id", id != NULL ? id : "");
	const char *fields[][3] = {
	        {"run", "start_time", "start_time"},  {"git", "commit", "commit"},
	        {"git", "branch", "branch"},          {"image", "id", "image"},
	        {NULL, "fingerprint", "fingerprint"},
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = str_at(manifest, fields[i][0], fields[i][1]);
		if (v != NULL)
			cJSON_AddStringToObject(out, fields[i][2], v);
	}
	const cJSON *argv = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(manifest, "run"), "argv");
	if (cJSON_IsArray(argv))
		cJSON_AddItemToObject(out, "command", cJSON_Duplicate(argv, 1));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	            cJSON_GetObjectItemCaseSensitive(manifest, "run"), "dev")))
		cJSON_AddTrueToObject(out, "dev");
	/* A pipeline task's run: which pipeline run, which task (run.pipeline). */
	const cJSON *pipeline = cJSON_GetObjectItemCaseSensitive(
	        cJSON_GetObjectItemCaseSensitive(manifest, "run"), "pipeline");
	const char *task_fields[][2] = {
	        {"name", "pipeline"}, {"id", "pipeline_run"}, {"task", "task"}};
	for (size_t i = 0; cJSON_IsObject(pipeline) && i < 3; i++) {
		const char *v = cJSON_GetStringValue(
		        cJSON_GetObjectItemCaseSensitive(pipeline, task_fields[i][0]));
		if (v != NULL)
			cJSON_AddStringToObject(out, task_fields[i][1], v);
	}
	const char *state = str_at(run, NULL, "state");
	cJSON_AddStringToObject(out, "state", state != NULL ? state : "running or lost");
	static const char *const outcome[] = {"exit_status", "signal", "end_time", "tags", "notes"};
	for (size_t i = 0; i < sizeof(outcome) / sizeof(outcome[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(run, outcome[i]);
		if (v != NULL)
			cJSON_AddItemToObject(out, outcome[i], cJSON_Duplicate(v, 1));
	}
	if (full) {
		static const char *const files[] = {"summary.json", "config.json"};
		for (size_t i = 0; i < 2; i++) {
			cJSON *v = aero_file_read_json(dir, files[i], JSON_MAX);
			if (v != NULL)
				cJSON_AddItemToObject(out, i == 0 ? "summary" : "config", v);
		}
		cJSON *trackers = cJSON_AddObjectToObject(out, "trackers");
		static const char *const names[] = {"wandb", "mlflow"};
		for (size_t i = 0; trackers != NULL && i < 2; i++) {
			char file[32];
			(void)snprintf(file, sizeof(file), "sinks/%s.json", names[i]);
			cJSON *cursor = aero_file_read_json(dir, file, JSON_MAX);
			if (cursor == NULL)
				continue;
			cJSON *t = cJSON_AddObjectToObject(trackers, names[i]);
			const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(cursor, "metrics");
			cJSON_AddItemToObject(
			        t, "rows_delivered",
			        cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(metrics, "line"),
			                        1));
			cJSON_AddBoolToObject(
			        t, "finished",
			        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cursor, "finished")));
			cJSON_Delete(cursor);
		}
		/* Rows in metrics.jsonl, counted without holding the file. */
		char *path = aero_path_join(dir, "metrics.jsonl");
		FILE *f = path != NULL ? fopen(path, "re") : NULL;
		long rows = 0;
		for (int ch; f != NULL && (ch = getc_unlocked(f)) != EOF;)
			rows += ch == '\n';
		if (f != NULL)
			fclose(f);
		free(path);
		cJSON_AddNumberToObject(out, "rows", (double)rows);
	}
	cJSON_Delete(manifest);
	cJSON_Delete(run);
	return out;
}

static void print_command(FILE *out, const cJSON *f, size_t max)
{
	size_t used = 0;
	const cJSON *argv = cJSON_GetObjectItemCaseSensitive(f, "command");
	for (const cJSON *a = cJSON_IsArray(argv) ? argv->child : NULL; a != NULL && used < max;
	     a = a->next) {
		if (!cJSON_IsString(a))
			continue;
		const int n = fprintf(out, "%s%.*s", used > 0 ? " " : "", (int)(max - used),
		                      a->valuestring);
		used += n > 0 ? (size_t)n : 0;
	}
}

static int cmd_ls(bool json)
{
	char *runs = aero_runs_dir();
	size_t count = 0;
	char **ids = runs != NULL ? aero_run_ids(runs, &count) : NULL;
	if (ids == NULL) {
		free(runs);
		aero_log_error("out of memory");
		return AERO_EXIT_INTERNAL;
	}
	cJSON *all = json ? cJSON_CreateArray() : NULL;
	if (!json)
		printf("%-32s  %-8s  %4s  %-12s  %s\n", "RUN", "STATE", "EXIT", "COMMIT",
		       "COMMAND");
	for (size_t i = 0; i < count; i++) {
		char *dir = aero_path_join(runs, ids[i]);
		cJSON *f = dir != NULL ? facts(dir, false) : NULL;
		free(dir);
		if (f == NULL)
			continue;
		if (json) {
			cJSON_AddItemToArray(all, f);
			continue;
		}
		const cJSON *status = cJSON_GetObjectItemCaseSensitive(f, "exit_status");
		char code[16] = "-";
		if (cJSON_IsNumber(status))
			(void)snprintf(code, sizeof(code), "%d", status->valueint);
		const char *commit = str_at(f, NULL, "commit");
		printf("%-32s  %-8.8s  %4s  %-12.12s  ", ids[i], str_at(f, NULL, "state"), code,
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "dev")) ? "(dev)"
		       : commit != NULL                                         ? commit
		                                                                : "-");
		print_command(stdout, f, 60);
		putchar('\n');
		cJSON_Delete(f);
	}
	if (json) {
		char *text = cJSON_Print(all);
		if (text != NULL)
			puts(text);
		free(text);
		cJSON_Delete(all);
	}
	aero_run_ids_free(ids);
	free(runs);
	return 0;
}

static int cmd_show(const char *run, bool json)
{
	int status;
	char *dir = aero_run_dir_find(run, &status);
	if (dir == NULL)
		return status;
	cJSON *f = facts(dir, true);
	free(dir);
	if (f == NULL) {
		aero_log_error("out of memory");
		return AERO_EXIT_INTERNAL;
	}
	if (json) {
		char *text = cJSON_Print(f);
		if (text != NULL)
			puts(text);
		free(text);
		cJSON_Delete(f);
		return 0;
	}
	for (const cJSON *item = f->child; item != NULL; item = item->next) {
		if (cJSON_IsString(item)) {
			printf("%-12s %s\n", item->string, item->valuestring);
		} else if (strcmp(item->string, "command") == 0) {
			printf("%-12s ", "command");
			print_command(stdout, f, 4096);
			putchar('\n');
		} else {
			char *text = cJSON_PrintUnformatted(item);
			printf("%-12s %s\n", item->string, text != NULL ? text : "?");
			free(text);
		}
	}
	cJSON_Delete(f);
	return 0;
}

/* Replaces aero-launch with `aero-init ARGS...`. */
static int run_init(char **args)
{
	char *init = aero_init_path(NULL);
	if (init == NULL) {
		aero_log_error("out of memory");
		return AERO_EXIT_INTERNAL;
	}
	args[0] = init;
	(void)fflush(stdout);
	execvp(init, args);
	aero_log_error("cannot run %s: %s; install aero-init beside aero-launch or on PATH", init,
	               strerror(errno));
	free(init);
	return AERO_EXIT_INTERNAL;
}

static int cmd_diff(const char *a, const char *b, bool json)
{
	int status = 0;
	char *da = aero_run_dir_find(a, &status);
	char *db = da != NULL ? aero_run_dir_find(b, &status) : NULL;
	char *ma = da != NULL ? aero_path_join(da, "manifest.json") : NULL;
	char *mb = db != NULL ? aero_path_join(db, "manifest.json") : NULL;
	free(da);
	free(db);
	if (ma == NULL || mb == NULL) {
		free(ma);
		free(mb);
		return status != 0 ? status : AERO_EXIT_INTERNAL;
	}
	char *text = NULL;
	status = aero_init_diff(ma, mb, NULL, json ? &text : NULL);
	if (text != NULL)
		fputs(text, stdout);
	free(text);
	free(ma);
	free(mb);
	return status;
}

int aero_runs_main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? AERO_EXIT_USAGE : 0;
	}
	const char *sub = argv[1];
	bool json = false;
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc - 1, argv + 1, "+jh", options, NULL)) != -1) {
		if (c == 'j') {
			json = true;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return AERO_EXIT_USAGE;
		}
	}
	char **rest = argv + 1 + optind;
	const int left = argc - 1 - optind;
	if (strcmp(sub, "ls") == 0 && left == 0)
		return cmd_ls(json);
	if (strcmp(sub, "show") == 0 && left == 1)
		return cmd_show(rest[0], json);
	if (strcmp(sub, "diff") == 0 && left == 2)
		return cmd_diff(rest[0], rest[1], json);
	usage(stderr);
	return AERO_EXIT_USAGE;
}

int aero_launch_sync_main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || argv[argc - 1][0] == '-') {
		usage(stderr);
		return AERO_EXIT_USAGE;
	}
	int status;
	char *dir = aero_run_dir_find(argv[argc - 1], &status);
	if (dir == NULL)
		return status;
	/* aero-init sync [OPTIONS] DIR: the options pass through as given. */
	char **args = calloc((size_t)argc + 2, sizeof(char *));
	if (args == NULL) {
		free(dir);
		aero_log_error("out of memory");
		return AERO_EXIT_INTERNAL;
	}
	char word[] = "sync";
	args[1] = word;
	for (int i = 1; i < argc - 1; i++)
		args[i + 1] = argv[i];
	args[argc] = dir;
	status = run_init(args);
	free(args);
	free(dir);
	return status;
}
