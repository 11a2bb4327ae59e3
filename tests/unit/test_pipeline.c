/* Unit tests: the pipeline file's parser and checks (host/pipeline.c). */
/* cmocka needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../host/pipeline.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The longest artifact name. */
#define LONG_NAME                                                                                  \
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
	"xxxxxxxxxxxxyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
#define DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* prepare -> train-a, train-b -> evaluate, as doc/pipelines.md shows it. */
static const char four_tasks[] =
        "{\"name\": \"demo\", \"tasks\": ["
        "{\"name\": \"prepare\", \"command\": [\"python3\", \"prepare.py\"],"
        " \"inputs\": [\"raw:v3\"], \"outputs\": [\"data\"]},"
        "{\"name\": \"train-a\", \"command\": [\"python3\", \"train.py\", \"--arch\", \"a\"],"
        " \"inputs\": [\"data\"], \"outputs\": [\"model-a\"], \"config\": {\"lr\": 0.1},"
        " \"seed\": 7, \"resources\": {\"cpus\": 2, \"memory\": \"4g\", \"gpus\": 1}},"
        "{\"name\": \"train-b\", \"command\": [\"python3\", \"train.py\", \"--arch\", \"b\"],"
        " \"image\": \"python:3.12\", \"inputs\": [\"data\"], \"outputs\": [\"model-b\"],"
        " \"resources\": {\"cpus\": \"0.5\", \"gpus\": \"all\"}},"
        "{\"name\": \"evaluate\", \"command\": [\"python3\", \"evaluate.py\"],"
        " \"inputs\": [\"model-a\", \"model-b\", \"labels@sha256:" DIGEST "\"],"
        " \"outputs\": [\"report\"]}"
        "]}";

static int parse(const char *text, struct aero_pipeline *p)
{
	return aero_pipeline_parse(text, strlen(text), "p.json", p);
}

static void assert_needs(const struct aero_task *t, size_t count, const size_t *needs)
{
	assert_int_equal(t->need_count, count);
	for (size_t i = 0; i < count; i++)
		assert_int_equal(t->needs[i], needs[i]);
}

static void test_four_tasks(void **state)
{
	(void)state;
	struct aero_pipeline p;
	assert_int_equal(parse(four_tasks, &p), 0);
	assert_string_equal(p.name, "demo");
	assert_int_equal(p.count, 4);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(p.order[i], i);

	const struct aero_task *prepare = &p.tasks[0], *train_a = &p.tasks[1],
	                       *train_b = &p.tasks[2], *evaluate = &p.tasks[3];
	assert_string_equal(prepare->name, "prepare");
	assert_int_equal(prepare->argc, 2);
	assert_string_equal(prepare->argv[1], "prepare.py");
	assert_null(prepare->argv[2]);
	assert_int_equal(prepare->input_count, 1);
	assert_string_equal(prepare->inputs[0].ref.name, "raw");
	assert_int_equal(prepare->inputs[0].ref.kind, AERO_REF_VERSION);
	assert_int_equal(prepare->inputs[0].ref.version, 3);
	assert_int_equal(prepare->inputs[0].producer, -1);
	assert_int_equal(prepare->output_count, 1);
	assert_string_equal(prepare->outputs[0], "data");
	assert_needs(prepare, 0, NULL);
	assert_null(prepare->image);
	assert_null(prepare->seed);
	assert_null(prepare->cpus);
	assert_null(prepare->memory);
	assert_null(prepare->gpus);
	assert_true(cJSON_IsObject(prepare->config));
	assert_null(prepare->config->child);

	assert_int_equal(train_a->inputs[0].producer, 0);
	assert_int_equal(train_a->inputs[0].ref.kind, AERO_REF_LATEST);
	assert_needs(train_a, 1, (const size_t[]){0});
	assert_string_equal(train_a->seed, "7");
	assert_string_equal(train_a->cpus, "2");
	assert_int_equal(train_a->nano_cpus, 2000000000LL);
	assert_string_equal(train_a->memory, "4g");
	assert_int_equal(train_a->memory_bytes, 4LL << 30);
	assert_string_equal(train_a->gpus, "1");
	assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(train_a->config, "lr")) == 0.1);

	assert_string_equal(train_b->image, "python:3.12");
	assert_needs(train_b, 1, (const size_t[]){0});
	assert_string_equal(train_b->cpus, "0.5");
	assert_int_equal(train_b->nano_cpus, 500000000LL);
	assert_string_equal(train_b->gpus, "all");
	assert_null(train_b->memory);
	assert_int_equal(train_b->memory_bytes, 0);

	assert_int_equal(evaluate->input_count, 3);
	assert_int_equal(evaluate->inputs[0].producer, 1);
	assert_int_equal(evaluate->inputs[1].producer, 2);
	assert_int_equal(evaluate->inputs[2].producer, -1);
	assert_int_equal(evaluate->inputs[2].ref.kind, AERO_REF_DIGEST);
	assert_string_equal(evaluate->inputs[2].ref.digest, DIGEST);
	assert_needs(evaluate, 2, (const size_t[]){1, 2});

	assert_int_equal(aero_pipeline_find(&p, "train-b"), 2);
	assert_int_equal(aero_pipeline_find(&p, "train"), -1);
	aero_pipeline_free(&p);
	assert_null(p.tasks);
}

/* The order follows the graph, and the file's order wherever the graph allows. */
static void test_order_follows_the_graph(void **state)
{
	(void)state;
	static const char text[] =
	        "{\"tasks\": ["
	        "{\"name\": \"evaluate\", \"command\": [\"e\"], \"inputs\": [\"model-a\", "
	        "\"model-b\"]},"
	        "{\"name\": \"train-b\", \"command\": [\"t\"], \"inputs\": [\"data\"], "
	        "\"outputs\": [\"model-b\"]},"
	        "{\"name\": \"prepare\", \"command\": [\"p\"], \"outputs\": [\"data\"]},"
	        "{\"name\": \"train-a\", \"command\": [\"t\"], \"inputs\": [\"data\"], "
	        "\"outputs\": [\"model-a\"]}"
	        "]}";
	struct aero_pipeline p;
	assert_int_equal(parse(text, &p), 0);
	const size_t order[] = {2, 1, 3, 0};
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(p.order[i], order[i]);
	assert_needs(&p.tasks[0], 2, (const size_t[]){1, 3});
	assert_string_equal(p.name, "p"); /* from the file's name */
	aero_pipeline_free(&p);
}

/* "after" orders without an artifact; a task both read from and named in
 * "after" is needed once. */
static void test_after(void **state)
{
	(void)state;
	static const char text[] =
	        "{\"tasks\": ["
	        "{\"name\": \"b\", \"command\": [\"b\"], \"after\": [\"c\", \"a\"]},"
	        "{\"name\": \"a\", \"command\": [\"a\"], \"outputs\": [\"x\"]},"
	        "{\"name\": \"c\", \"command\": [\"c\"], \"inputs\": [\"x\"], \"after\": "
	        "[\"a\"]}"
	        "]}";
	struct aero_pipeline p;
	assert_int_equal(parse(text, &p), 0);
	assert_needs(&p.tasks[0], 2, (const size_t[]){1, 2});
	assert_needs(&p.tasks[2], 1, (const size_t[]){1});
	const size_t order[] = {1, 2, 0};
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(p.order[i], order[i]);
	aero_pipeline_free(&p);
}

static void test_name_from_the_file(void **state)
{
	(void)state;
	static const char text[] = "{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"]}]}";
	static const char *const cases[][2] = {
	        {"dir/My_Steps.json", "my-steps"}, {"train.json", "train"},  {"x.y.z", "x-y-z"},
	        {"/a/-odd-.json", "pipeline"},     {"/a/.json", "pipeline"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aero_pipeline p;
		assert_int_equal(aero_pipeline_parse(text, strlen(text), cases[i][0], &p), 0);
		assert_string_equal(p.name, cases[i][1]);
		aero_pipeline_free(&p);
	}
}

/* Each error names the file, where in it, and what is wrong. */
struct bad {
	const char *text;
	const char *message;
};

static const struct bad bad_files[] = {
        {"{\"tasks\": [", "p.json: not JSON (line 1, column 11); see doc/pipelines.md"},
        {"", "p.json: not JSON"},
        {"[]", "p.json: a pipeline is an object with \"tasks\", a non-empty array of tasks"},
        {"{\"name\": \"x\"}", "p.json: a pipeline is an object with \"tasks\""},
        {"{\"tasks\": []}", "p.json: a pipeline is an object with \"tasks\""},
        {"{\"tasks\": {}}", "p.json: a pipeline is an object with \"tasks\""},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"]}], \"nmae\": \"x\"}",
         "p.json: unknown key 'nmae' (a pipeline has \"name\" and \"tasks\")"},
        {"{\"name\": \"Demo\", \"tasks\": [{\"name\": \"a\", \"command\": [\"a\"]}]}",
         "p.json: \"name\" is 1 to 63 of a-z, 0-9 and '-'"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"]}, {\"name\": \"b\", "
         "\"comand\": [\"b\"]}]}",
         "p.json: tasks[1].comand: unknown key 'comand' (name, command, image, inputs, "
         "outputs, after, config, seed, resources)"},
        {"{\"tasks\": [\"a\"]}",
         "p.json: tasks[0]: a task must be an object with a \"name\" and a \"command\""},
        {"{\"tasks\": [{\"command\": [\"a\"]}]}", "p.json: tasks[0]: a task needs a \"name\""},
        {"{\"tasks\": [{\"name\": \"a\"}]}",
         "p.json: tasks[0]: a task needs a \"command\", an array such as [\"python3\", "
         "\"train.py\"]"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": []}]}",
         "p.json: tasks[0].command: must not be empty"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": \"a b\"}]}",
         "p.json: tasks[0].command: must be an array of strings"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\", 1]}]}",
         "p.json: tasks[0].command[1]: must be a string"},
        {"{\"tasks\": [{\"name\": \"Train\", \"command\": [\"a\"]}]}",
         "p.json: tasks[0].name: a task's name is 1 to 63 of a-z, 0-9 and '-', not starting "
         "or ending with '-'"},
        {"{\"tasks\": [{\"name\": \"-train\", \"command\": [\"a\"]}]}",
         "p.json: tasks[0].name: a task's name is 1 to 63"},
        {"{\"tasks\": [{\"name\": \"train-\", \"command\": [\"a\"]}]}",
         "p.json: tasks[0].name: a task's name is 1 to 63"},
        {"{\"tasks\": [{\"name\": \"\", \"command\": [\"a\"]}]}",
         "p.json: tasks[0].name: a task's name is 1 to 63"},
        {"{\"tasks\": [{\"name\": \"train_a\", \"command\": [\"a\"]}]}",
         "p.json: tasks[0].name: a task's name is 1 to 63"},
        {"{\"tasks\": [{\"name\": 5, \"command\": [\"a\"]}]}",
         "p.json: tasks[0].name: a task's name is 1 to 63"},
        {"{\"tasks\": [{\"name\": "
         "\"a234567890123456789012345678901234567890123456789012345678901234\", "
         "\"command\": [\"a\"]}]}",
         "p.json: tasks[0].name: a task's name is 1 to 63"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"]}, {\"name\": \"b\", "
         "\"command\": [\"b\"]}, {\"name\": \"a\", \"command\": [\"c\"]}]}",
         "p.json: tasks[2].name: two tasks are called 'a'"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"name\": \"b\"}]}",
         "p.json: tasks[0].name: given twice in this task"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"outputs\": [\"data\"]}, "
         "{\"name\": \"b\", \"command\": [\"b\"]}, {\"name\": \"c\", \"command\": [\"c\"], "
         "\"outputs\": [\"x\", \"data\"]}]}",
         "p.json: tasks[2].outputs[1]: 'data' is also an output of task 'a': each artifact "
         "has one producer"},
        /* A message of the longest names, whole. */
        {"{\"tasks\": [{\"name\": "
         "\"b23456789012345678901234567890123456789012345678901234567890123\", \"command\": "
         "[\"b\"], "
         "\"outputs\": [\"" LONG_NAME "\"]}, "
         "{\"name\": \"a\", \"command\": [\"a\"], \"outputs\": [\"" LONG_NAME "\"]}]}",
         "p.json: tasks[1].outputs[0]: '" LONG_NAME "' is also an output of task "
         "'b23456789012345678901234567890123456789012345678901234567890123': each artifact has one "
         "producer"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"outputs\": [\"x\", \"x\"]}]}",
         "p.json: tasks[0].outputs[1]: 'x' is an output twice"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"outputs\": [\"a/b\"]}]}",
         "p.json: tasks[0].outputs[0]: "},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"outputs\": [\"data:v2\"]}]}",
         "p.json: tasks[0].outputs[0]: "},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"inputs\": [\"data\"], "
         "\"outputs\": [\"data\"]}]}",
         "p.json: tasks[0].inputs[0]: 'data' is this task's own output"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"outputs\": [\"data\"]}, "
         "{\"name\": \"b\", \"command\": [\"b\"]}, {\"name\": \"c\", \"command\": [\"c\"], "
         "\"inputs\": [\"data:v2\"]}]}",
         "p.json: tasks[2].inputs[0]: a version of 'data' is named, but a task of this "
         "pipeline makes it: write the name alone to take that task's output"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"outputs\": [\"data\"]}, "
         "{\"name\": \"c\", \"command\": [\"c\"], \"inputs\": [\"raw\", \"data@sha256:" DIGEST
         "\"]}]}",
         "p.json: tasks[1].inputs[1]: a version of 'data' is named"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"]}, {\"name\": \"b\", \"command\": "
         "[\"b\"]}, {\"name\": \"c\", \"command\": [\"c\"], \"inputs\": [\"data:vx\"]}]}",
         "p.json: tasks[2].inputs[0]: "},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"inputs\": [\"\"]}]}",
         "p.json: tasks[0].inputs[0]: "},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"inputs\": [\"x@sha256:12\"]}]}",
         "p.json: tasks[0].inputs[0]: "},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"inputs\": [\"d:v1\", "
         "\"d:v2\"]}]}",
         "p.json: tasks[0].inputs[1]: artifact 'd:v2' is an input twice"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"inputs\": \"d\"}]}",
         "p.json: tasks[0].inputs: must be an array of strings"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"]}, {\"name\": \"b\", \"command\": "
         "[\"b\"], \"after\": [\"a\", \"nope\"]}]}",
         "p.json: tasks[1].after[1]: no task is called 'nope'"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"after\": [\"a\"]}]}",
         "p.json: tasks[0].after[0]: a task cannot come after itself"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"after\": [7]}]}",
         "p.json: tasks[0].after[0]: must be a string"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"resources\": {\"cpus\": "
         "\"abc\"}}]}",
         "p.json: tasks[0].resources: 'abc' is not a number of CPUs: use one such as 2 or 0.5"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"resources\": {\"cpus\": "
         "0}}]}",
         "p.json: tasks[0].resources: '0' is not a number of CPUs"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"resources\": {\"cpus\": "
         "true}}]}",
         "p.json: tasks[0].resources: 'cpus' must be a number or a string"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"resources\": {\"memory\": "
         "\"0\"}}]}",
         "p.json: tasks[0].resources: memory '0' is not a size such as 4g or 512m"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"resources\": {\"memory\": "
         "\"4x\"}}]}",
         "p.json: tasks[0].resources: memory '4x' is not a size such as 4g or 512m"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"resources\": {\"gpus\": "
         "-1}}]}",
         "p.json: tasks[0].resources: gpus must be 'all' or a count from 0 to 1024"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"resources\": {\"gpus\": "
         "\"some\"}}]}",
         "p.json: tasks[0].resources: gpus must be 'all' or a count from 0 to 1024"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"resources\": {\"disk\": "
         "\"4g\"}}]}",
         "p.json: tasks[0].resources: unknown key 'disk' (cpus, memory, gpus)"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"resources\": {\"cpus\": 1, "
         "\"cpus\": 2}}]}",
         "p.json: tasks[0].resources: 'cpus' is given twice"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"resources\": [2]}]}",
         "p.json: tasks[0].resources: must be an object such as {\"cpus\": 2, \"memory\": "
         "\"4g\", \"gpus\": 1}"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"seed\": 4294967296}]}",
         "p.json: tasks[0].seed: a seed is a whole number from 0 to 2^32-1"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"seed\": -1}]}",
         "p.json: tasks[0].seed: a seed is a whole number from 0 to 2^32-1"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"seed\": 1.5}]}",
         "p.json: tasks[0].seed: a seed is a whole number from 0 to 2^32-1"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"seed\": \"x\"}]}",
         "p.json: tasks[0].seed: a seed is a whole number from 0 to 2^32-1"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"seed\": null}]}",
         "p.json: tasks[0].seed: a seed is a whole number from 0 to 2^32-1"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"config\": [1]}]}",
         "p.json: tasks[0].config: must be an object of settings"},
        {"{\"tasks\": [{\"name\": \"a\", \"command\": [\"a\"], \"image\": \"\"}]}",
         "p.json: tasks[0].image: must name an image, such as \"python:3.12\""},
};

static void test_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		struct aero_pipeline p;
		aero_error_clear();
		const int rc = parse(bad_files[i].text, &p);
		if (rc != -1 ||
		    strstr(aero_error_last(), bad_files[i].message) != aero_error_last())
			fail_msg("%s\n  gave %d: %s\n  wanted: %s", bad_files[i].text, rc,
			         aero_error_last(), bad_files[i].message);
		assert_null(p.tasks); /* freed */
		assert_null(p.name);
	}
}

/* The message names the tasks of the cycle, each needing the next, and no
 * task that merely follows from it. */
static void test_cycle(void **state)
{
	(void)state;
	static const char text[] =
	        "{\"tasks\": ["
	        "{\"name\": \"root\", \"command\": [\"r\"], \"outputs\": [\"r\"]},"
	        "{\"name\": \"a\", \"command\": [\"a\"], \"inputs\": [\"r\", \"c\"], \"outputs\": "
	        "[\"a\"]},"
	        "{\"name\": \"later\", \"command\": [\"l\"], \"inputs\": [\"a\"]},"
	        "{\"name\": \"b\", \"command\": [\"b\"], \"inputs\": [\"a\"], \"outputs\": "
	        "[\"b\"]},"
	        "{\"name\": \"c\", \"command\": [\"c\"], \"after\": [\"b\"], \"outputs\": "
	        "[\"c\"]}"
	        "]}";
	struct aero_pipeline p;
	assert_int_equal(parse(text, &p), -1);
	assert_string_equal(aero_error_last(),
	                    "p.json: the tasks a, c, b wait on each other in a cycle: a needs "
	                    "c, which needs b, which needs a; break it in their \"inputs\" or "
	                    "\"after\"");
	assert_null(p.tasks);

	static const char two[] = "{\"tasks\": ["
	                          "{\"name\": \"x\", \"command\": [\"x\"], \"after\": [\"y\"]},"
	                          "{\"name\": \"y\", \"command\": [\"y\"], \"after\": [\"x\"]}"
	                          "]}";
	assert_int_equal(parse(two, &p), -1);
	assert_non_null(strstr(aero_error_last(),
	                       "the tasks x, y wait on each other in a cycle: x needs y, which "
	                       "needs x;"));
}

/* A ring of n tasks, each after the one before it (the first after the last
 * when ring), or n tasks with none. */
static char *many_tasks(size_t n, bool chain, bool ring)
{
	size_t cap = 64 + n * 96, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "{\"tasks\": [");
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(text + len, cap - len,
		                        "%s{\"name\": \"t%zu\", \"command\": [\"x\"]",
		                        i > 0 ? ", " : "", i);
		if (chain && (i > 0 || ring))
			len += (size_t)snprintf(text + len, cap - len, ", \"after\": [\"t%zu\"]",
			                        i > 0 ? i - 1 : n - 1);
		len += (size_t)snprintf(text + len, cap - len, "}");
	}
	(void)snprintf(text + len, cap - len, "]}");
	return text;
}

static void test_task_count(void **state)
{
	(void)state;
	struct aero_pipeline p;
	char *text = many_tasks(AERO_PIPELINE_TASKS_MAX, true, false);
	assert_int_equal(parse(text, &p), 0);
	assert_int_equal(p.count, AERO_PIPELINE_TASKS_MAX);
	for (size_t i = 0; i < p.count; i++)
		assert_int_equal(p.order[i], i);
	aero_pipeline_free(&p);
	free(text);

	text = many_tasks(AERO_PIPELINE_TASKS_MAX + 1, false, false);
	assert_int_equal(parse(text, &p), -1);
	assert_string_equal(aero_error_last(),
	                    "p.json: more than 1024 tasks; split the pipeline into smaller ones");
	free(text);

	/* A long cycle: the message stays short. */
	text = many_tasks(300, true, true);
	assert_int_equal(parse(text, &p), -1);
	assert_non_null(strstr(aero_error_last(),
	                       "the tasks t0, t299, t298, t297, t296, t295, t294, t293, ... (300 "
	                       "tasks) wait on each other in a cycle: t0 needs t299, which needs "
	                       "t298, "));
	assert_true(strlen(aero_error_last()) < 1000);
	free(text);
}

/* Numbers as JSON numbers or strings, written back exactly. */
static void test_numbers(void **state)
{
	(void)state;
	static const char text[] =
	        "{\"tasks\": ["
	        "{\"name\": \"a\", \"command\": [\"a\"], \"seed\": 4294967295, \"resources\": "
	        "{\"cpus\": 1000.123456789, \"memory\": 1048576, \"gpus\": 0}},"
	        "{\"name\": \"b\", \"command\": [\"b\"], \"seed\": \"007\", \"resources\": "
	        "{\"cpus\": \"1.000000001\", \"memory\": \"512M\", \"gpus\": \"+2\"}},"
	        "{\"name\": \"c\", \"command\": [\"c\"], \"seed\": 0, \"resources\": "
	        "{\"cpus\": 0.1, \"gpus\": 1024}}"
	        "]}";
	struct aero_pipeline p;
	assert_int_equal(parse(text, &p), 0);
	assert_string_equal(p.tasks[0].seed, "4294967295");
	assert_string_equal(p.tasks[0].cpus, "1000.123456789");
	assert_int_equal(p.tasks[0].nano_cpus, 1000123456789LL);
	assert_string_equal(p.tasks[0].memory, "1048576");
	assert_int_equal(p.tasks[0].memory_bytes, 1048576);
	assert_null(p.tasks[0].gpus); /* 0: none */
	assert_string_equal(p.tasks[1].seed, "7");
	assert_int_equal(p.tasks[1].nano_cpus, 1000000001LL);
	assert_int_equal(p.tasks[1].memory_bytes, 512LL << 20);
	assert_string_equal(p.tasks[1].gpus, "2");
	assert_string_equal(p.tasks[2].seed, "0");
	assert_string_equal(p.tasks[2].cpus, "0.1");
	assert_int_equal(p.tasks[2].nano_cpus, 100000000LL);
	assert_string_equal(p.tasks[2].gpus, "1024");
	aero_pipeline_free(&p);
}

static void test_downstream(void **state)
{
	(void)state;
	struct aero_pipeline p;
	assert_int_equal(parse(four_tasks, &p), 0);
	static const struct {
		size_t from;
		bool marked[4];
	} cases[] = {
	        {0, {true, true, true, true}},
	        {1, {false, true, false, true}},
	        {2, {false, false, true, true}},
	        {3, {false, false, false, true}},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		bool mark[4] = {false, false, false, false};
		aero_pipeline_downstream(&p, cases[c].from, mark);
		for (size_t i = 0; i < 4; i++)
			assert_int_equal(mark[i], cases[c].marked[i]);
	}
	aero_pipeline_free(&p);

	/* Through "after", and in a file whose order is not the graph's. */
	static const char text[] = "{\"tasks\": ["
	                           "{\"name\": \"d\", \"command\": [\"d\"], \"after\": [\"c\"]},"
	                           "{\"name\": \"c\", \"command\": [\"c\"], \"inputs\": [\"x\"]},"
	                           "{\"name\": \"b\", \"command\": [\"b\"]},"
	                           "{\"name\": \"a\", \"command\": [\"a\"], \"outputs\": [\"x\"]}"
	                           "]}";
	assert_int_equal(parse(text, &p), 0);
	bool mark[4] = {false, false, false, false};
	aero_pipeline_downstream(&p, 3, mark);
	assert_true(mark[0] && mark[1] && !mark[2] && mark[3]);
	aero_pipeline_free(&p);
}

static void test_load(void **state)
{
	(void)state;
	char path[] = "/tmp/aero-test-pipeline-XXXXXX";
	const int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, four_tasks, strlen(four_tasks)), (ssize_t)strlen(four_tasks));
	close(fd);
	struct aero_pipeline p;
	assert_int_equal(aero_pipeline_load(path, &p), 0);
	assert_int_equal(p.count, 4);
	aero_pipeline_free(&p);
	unlink(path);
	assert_int_equal(aero_pipeline_load(path, &p), -1);
	assert_non_null(
	        strstr(aero_error_last(), "cannot read the pipeline /tmp/aero-test-pipeline-"));
	assert_null(p.tasks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_four_tasks), cmocka_unit_test(test_order_follows_the_graph),
	        cmocka_unit_test(test_after),      cmocka_unit_test(test_name_from_the_file),
	        cmocka_unit_test(test_bad_files),  cmocka_unit_test(test_cycle),
	        cmocka_unit_test(test_task_count), cmocka_unit_test(test_numbers),
	        cmocka_unit_test(test_downstream), cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
