/* aero-launch pipeline graph: a pipeline's tasks and what flows between them,
 * as text, as Graphviz DOT, or as SVG drawn by Graphviz (doc/pipelines.md). */
#ifndef AERO_HOST_PIPELINE_GRAPH_H
#define AERO_HOST_PIPELINE_GRAPH_H

#include "pipeline.h"

#include <stdio.h>

/* Writes p as text: each task in p->order with the tasks it needs and why (the
 * artifacts it takes from each, or "after"), the store versions it reads and
 * the artifacts it makes. Write errors are left in out's error indicator. */
void aero_pipeline_graph_text(FILE *out, const struct aero_pipeline *p);

/* Writes p as a Graphviz digraph: a node per task and per store version read,
 * an edge per artifact taken (labelled with its name) and per "after". */
void aero_pipeline_graph_dot(FILE *out, const struct aero_pipeline *p);

/* Runs `aero-launch pipeline graph [--dot | --svg] FILE` (argv[0] is "graph");
 * returns the exit status: 0, 2 for a bad command line or file, 74 when the
 * output cannot be written or dot fails, 81 when --svg finds no dot. */
int aero_pipeline_graph_main(int argc, char **argv);

#endif
