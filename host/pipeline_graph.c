/* aero-launch pipeline graph: the pipeline file's graph as pipeline.c makes it,
 * printed for a terminal, for Graphviz, or drawn by Graphviz's dot as SVG. */
#include "pipeline_graph.h"

#include "error.h"
#include "log.h"
#include "redact.h"
#include "signame.h"
#include "status.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fputs("Usage: aero-launch pipeline graph [--dot | --svg] FILE\n"
	      "\n"
	      "Checks the pipeline FILE and prints its tasks in an order they can run in, each\n"
	      "with the tasks it needs and why (the artifacts it takes from them, or \"after\"),\n"
	      "the store versions it reads and the artifacts it makes.\n"
	      "\n"
	      "  --dot       print a Graphviz digraph instead: tasks and store versions as\n"
	      "              nodes, an edge per artifact, labelled with its name\n"
	      "  --svg       draw that digraph as SVG with Graphviz's dot (apt-get install\n"
	      "              graphviz)\n"
	      "  -h, --help  print this help and exit\n"
	      "\n"
	      "See doc/pipelines.md for the file's format.\n",
	      out);
}

/* The store version an input names, as "raw:v3", "raw:latest" or "raw@sha256:...". */
static void ref_text(const struct aero_task_input *in, char buf[AERO_ARTIFACT_REF_TEXT_MAX])
{
	aero_artifact_ref_format(&in->ref, buf);
}

void aero_pipeline_graph_text(FILE *out, const struct aero_pipeline *p)
{
	fprintf(out, "pipeline %s: %zu task%s\n", p->name, p->count, p->count == 1 ? "" : "s");
	for (size_t k = 0; k < p->count; k++) {
		const struct aero_task *t = &p->tasks[p->order[k]];
		fprintf(out, "\n%s\n", t->name);
		/* A needed task gives artifacts, or is needed only by "after". */
		for (size_t n = 0; n < t->need_count; n++) {
			fprintf(out, "  %s  %s (", n == 0 ? "needs" : "     ",
			        p->tasks[t->needs[n]].name);
			bool any = false;
			for (size_t i = 0; i < t->input_count; i++)
				if (t->inputs[i].producer == (long)t->needs[n]) {
					fprintf(out, "%s%s", any ? ", " : "",
					        t->inputs[i].ref.name);
					any = true;
				}
			fprintf(out, "%s)\n", any ? "" : "after");
		}
		bool any = false;
		for (size_t i = 0; i < t->input_count; i++)
			if (t->inputs[i].producer < 0) {
				char ref[AERO_ARTIFACT_REF_TEXT_MAX];
				ref_text(&t->inputs[i], ref);
				fprintf(out, "  %s  %s (store)\n", any ? "     " : "reads", ref);
				any = true;
			}
		for (size_t o = 0; o < t->output_count; o++)
			fprintf(out, "  %s  %s\n", o == 0 ? "makes" : "     ", t->outputs[o]);
	}
}

/* A DOT quoted string: every ID is quoted, so that keywords ("node", "edge"),
 * names starting with a digit and names with '-', '.', ':' or '@' are plain
 * IDs; '"' and '\' (which no name may hold today) are escaped all the same. */
static void dot_quoted(FILE *out, const char *s)
{
	putc('"', out);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			putc('\\', out);
		if (*s == '\n')
			fputs("\\n", out);
		else
			putc(*s, out);
	}
	putc('"', out);
}

static void dot_edge(FILE *out, const char *from, const char *to, const char *label, bool after)
{
	putc('\t', out);
	dot_quoted(out, from);
	fputs(" -> ", out);
	dot_quoted(out, to);
	fputs(" [label=", out);
	dot_quoted(out, label);
	fputs(after ? ", style=dashed];\n" : "];\n", out);
}

/* Whether an input before inputs[i] of the tasks up to order[k] reads the
 * same store version, whose node is then declared already. */
static bool store_node_seen(const struct aero_pipeline *p, size_t k, size_t i, const char *ref)
{
	for (size_t kk = 0; kk <= k; kk++) {
		const struct aero_task *t = &p->tasks[p->order[kk]];
		for (size_t ii = 0; ii < (kk == k ? i : t->input_count); ii++) {
			char other[AERO_ARTIFACT_REF_TEXT_MAX];
			ref_text(&t->inputs[ii], other);
			if (t->inputs[ii].producer < 0 && strcmp(other, ref) == 0)
				return true;
		}
	}
	return false;
}

/* Task nodes are named by the task's name; store nodes by the version's text,
 * which holds ':' or '@' and so can never be a task's name. */
void aero_pipeline_graph_dot(FILE *out, const struct aero_pipeline *p)
{
	fputs("digraph ", out);
	dot_quoted(out, p->name);
	fputs(" {\n\tnode [shape=box];\n", out);
	for (size_t k = 0; k < p->count; k++) {
		putc('\t', out);
		dot_quoted(out, p->tasks[p->order[k]].name);
		fputs(";\n", out);
	}
	for (size_t k = 0; k < p->count; k++) {
		const struct aero_task *t = &p->tasks[p->order[k]];
		for (size_t i = 0; i < t->input_count; i++) {
			const struct aero_task_input *in = &t->inputs[i];
			if (in->producer >= 0) {
				dot_edge(out, p->tasks[in->producer].name, t->name, in->ref.name,
				         false);
				continue;
			}
			char ref[AERO_ARTIFACT_REF_TEXT_MAX];
			ref_text(in, ref);
			if (!store_node_seen(p, k, i, ref)) {
				putc('\t', out);
				dot_quoted(out, ref);
				fputs(" [shape=cylinder];\n", out);
			}
			dot_edge(out, ref, t->name, in->ref.name, false);
		}
		for (size_t n = 0; n < t->need_count; n++) {
			bool gives = false;
			for (size_t i = 0; i < t->input_count; i++)
				gives = gives || t->inputs[i].producer == (long)t->needs[n];
			if (!gives)
				dot_edge(out, p->tasks[t->needs[n]].name, t->name, "after", true);
		}
	}
	fputs("}\n", out);
}

/* Pipes the DOT text into `dot -Tsvg`, whose SVG goes to our stdout. */
static int draw_svg(const struct aero_pipeline *p)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		aero_log_error("pipeline graph: cannot make a pipe: %s", strerror(errno));
		return AERO_EXIT_INTERNAL;
	}
	posix_spawn_file_actions_t actions;
	pid_t pid = 0;
	int err = posix_spawn_file_actions_init(&actions);
	if (err == 0) {
		err = posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
		if (err == 0) {
			char dot[] = "dot", svg[] = "-Tsvg";
			char *argv[] = {dot, svg, NULL};
			err = posix_spawnp(&pid, "dot", &actions, NULL, argv, environ);
		}
		posix_spawn_file_actions_destroy(&actions);
	}
	close(fds[0]);
	if (err != 0) {
		close(fds[1]);
		if (err == ENOENT) {
			aero_log_error(
			        "pipeline graph: --svg needs Graphviz's 'dot', which is not on "
			        "PATH; install it (apt-get install graphviz), or print DOT "
			        "with --dot and draw it elsewhere");
			return AERO_EXIT_TOOL;
		}
		aero_log_error("pipeline graph: cannot run Graphviz's 'dot': %s", strerror(err));
		return AERO_EXIT_INTERNAL;
	}
	/* A dot that dies early must not kill us with SIGPIPE: its status says more. */
	(void)signal(SIGPIPE, SIG_IGN);
	FILE *to_dot = fdopen(fds[1], "w");
	bool written = false;
	if (to_dot == NULL) {
		close(fds[1]);
	} else {
		aero_pipeline_graph_dot(to_dot, p);
		written = fclose(to_dot) == 0;
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		char name[32];
		aero_log_error("pipeline graph: Graphviz's 'dot -Tsvg' was killed by %s%s",
		               aero_signal_name(WTERMSIG(status), name, sizeof(name)),
		               WTERMSIG(status) == SIGPIPE ? " (what read the SVG went away)" : "");
		return AERO_EXIT_INTERNAL;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		aero_log_error("pipeline graph: Graphviz's 'dot -Tsvg' failed with exit status %d; "
		               "its message is above",
		               WEXITSTATUS(status));
		return AERO_EXIT_INTERNAL;
	}
	if (!written) {
		aero_log_error("pipeline graph: cannot write to 'dot': %s", strerror(errno));
		return AERO_EXIT_INTERNAL;
	}
	return AERO_EXIT_OK;
}

int aero_pipeline_graph_main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"dot", no_argument, NULL, 'd'},
	        {"svg", no_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	char format = 't';
	optind = 0;
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return AERO_EXIT_OK;
		}
		if (c == '?') {
			aero_log_error("pipeline graph: unknown option '%.*s'; see 'aero-launch "
			               "pipeline graph --help'",
			               aero_arg_shown(argv[optind - 1]), argv[optind - 1]);
			return AERO_EXIT_USAGE;
		}
		if (format != 't' && format != c) {
			aero_log_error(
			        "pipeline graph: --dot and --svg exclude each other: give one");
			return AERO_EXIT_USAGE;
		}
		format = (char)c;
	}
	if (argc - optind != 1) {
		aero_log_error("pipeline graph: %s; the command is 'aero-launch pipeline graph "
		               "[--dot | --svg] FILE'",
		               argc == optind ? "the pipeline FILE is missing"
		                              : "one pipeline FILE at a time");
		return AERO_EXIT_USAGE;
	}
	struct aero_pipeline p;
	if (aero_pipeline_load(argv[optind], &p) < 0) {
		aero_log_error("pipeline graph: %s", aero_error_last());
		return AERO_EXIT_USAGE;
	}
	int status = AERO_EXIT_OK;
	if (format == 's') {
		status = draw_svg(&p);
	} else {
		if (format == 'd')
			aero_pipeline_graph_dot(stdout, &p);
		else
			aero_pipeline_graph_text(stdout, &p);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			aero_log_error("pipeline graph: cannot write the graph: %s",
			               strerror(errno));
			status = AERO_EXIT_INTERNAL;
		}
	}
	aero_pipeline_free(&p);
	return status;
}
