"""aero-launch pipeline graph: a pipeline file's DAG as text, as Graphviz DOT
(read back by a small DOT reader here and, where Graphviz is installed, by
dot itself), and as SVG drawn by dot (doc/pipelines.md)."""
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

DIGEST = "0123456789abcdef" * 4

# prepare -> train-a, train-b -> evaluate: the example of doc/pipelines.md.
FOUR = {
    "name": "demo",
    "tasks": [
        {"name": "prepare", "command": ["python3", "prepare.py"],
         "inputs": ["raw:v3"], "outputs": ["data"]},
        {"name": "train-a", "command": ["python3", "train.py", "--arch", "a"],
         "inputs": ["data"], "outputs": ["model-a"], "config": {"lr": 0.1}, "seed": 7,
         "resources": {"cpus": 2, "memory": "4g", "gpus": 1}},
        {"name": "train-b", "command": ["python3", "train.py", "--arch", "b"],
         "inputs": ["data"], "outputs": ["model-b"], "config": {"lr": 0.01}},
        {"name": "evaluate", "command": ["python3", "evaluate.py"],
         "inputs": ["model-a", "model-b", "labels"], "outputs": ["report"]},
    ],
}

FOUR_TEXT = """\
pipeline demo: 4 tasks

prepare
  reads  raw:v3 (store)
  makes  data

train-a
  needs  prepare (data)
  makes  model-a

train-b
  needs  prepare (data)
  makes  model-b

evaluate
  needs  train-a (model-a)
         train-b (model-b)
  reads  labels:latest (store)
  makes  report
"""

# Every edge of FOUR: (from, to, label); store versions are nodes of their own.
FOUR_EDGES = {
    ("raw:v3", "prepare", "raw"),
    ("prepare", "train-a", "data"), ("prepare", "train-b", "data"),
    ("train-a", "evaluate", "model-a"), ("train-b", "evaluate", "model-b"),
    ("labels:latest", "evaluate", "labels"),
}
FOUR_TASKS = ["prepare", "train-a", "train-b", "evaluate"]

# Names DOT reads as keywords, numbers or operators unless they are quoted.
AWKWARD = {
    "name": "1-odd",
    "tasks": [
        {"name": "node", "command": ["n"], "inputs": ["raw.v1@sha256:" + DIGEST],
         "outputs": ["Edge", "graph.v2", "9lives"]},
        {"name": "edge", "command": ["e"], "inputs": ["Edge", "x_y:v12"], "outputs": ["a-b"]},
        {"name": "strict", "command": ["s"], "inputs": ["graph.v2", "a-b"]},
        {"name": "1st", "command": ["o"], "inputs": ["9lives"], "after": ["strict", "node"]},
        {"name": "subgraph", "command": ["g"], "after": ["1st"]},
        {"name": "digraph", "command": ["d"], "inputs": ["x_y:v12"]},
    ],
}
AWKWARD_EDGES = {
    ("raw.v1@sha256:" + DIGEST, "node", "raw.v1"),
    ("node", "edge", "Edge"), ("x_y:v12", "edge", "x_y"),
    ("node", "strict", "graph.v2"), ("edge", "strict", "a-b"),
    ("node", "1st", "9lives"), ("strict", "1st", "after"),
    ("1st", "subgraph", "after"),
    ("x_y:v12", "digraph", "x_y"),
}
AWKWARD_TASKS = ["node", "edge", "strict", "1st", "subgraph", "digraph"]


@pytest.fixture
def graph(aero_launch, tmp_path):
    """Runs `aero-launch pipeline graph ARGS... FILE` on a pipeline (a dict, or
    text as it is) written to a file; PATH may be replaced."""
    def run(pipeline, *args, path=None, name="pipeline.json"):
        f = tmp_path / name
        f.write_text(pipeline if isinstance(pipeline, str) else json.dumps(pipeline, indent=2))
        env = dict(os.environ)
        if path is not None:
            env["PATH"] = path
        return subprocess.run([aero_launch, "pipeline", "graph", *args, str(f)],
                              capture_output=True, text=True, env=env, timeout=60)
    return run


def dot_read(text):
    """A reader of the DOT subset `--dot` writes: statements `ID [attrs];` and
    `ID -> ID [attrs];`, `node [attrs];`, in `digraph ID { ... }`. Every ID must
    be a quoted string. Returns the graph's name, nodes ({name: attrs}) and
    edges ([(from, to, attrs)])."""
    token = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|(->)|([{}\[\];,=])|([A-Za-z_][A-Za-z_0-9]*))',
                       re.S)
    tokens, at = [], 0
    while text[at:].strip():
        m = token.match(text, at)
        assert m, "cannot read DOT at %r" % text[at:at + 40]
        at = m.end()
        q, arrow, punct, word = m.groups()
        if q is not None:
            tokens.append(("id", re.sub(r'\\(.)', r"\1", q[1:-1])))
        else:
            tokens.append(("sym", arrow or punct or word))

    def attrs(i):
        out = {}
        if tokens[i] != ("sym", "["):
            return out, i
        i += 1
        while tokens[i] != ("sym", "]"):
            key, eq, value = tokens[i], tokens[i + 1], tokens[i + 2]
            assert key[0] == "sym" and eq == ("sym", "="), tokens[i:i + 3]
            out[key[1]] = value[1]
            i += 3
            if tokens[i] == ("sym", ","):
                i += 1
        return out, i + 1

    assert tokens[0] == ("sym", "digraph") and tokens[1][0] == "id" and tokens[2] == ("sym", "{")
    name, nodes, edges, i = tokens[1][1], {}, [], 3
    while tokens[i] != ("sym", "}"):
        if tokens[i] == ("sym", "node"):
            _, i = attrs(i + 1)
        else:
            assert tokens[i][0] == "id", "an unquoted ID: %r" % (tokens[i],)
            if tokens[i + 1] == ("sym", "->"):
                assert tokens[i + 2][0] == "id", "an unquoted ID: %r" % (tokens[i + 2],)
                a, i2 = attrs(i + 3)
                edges.append((tokens[i][1], tokens[i + 2][1], a))
                i = i2
            else:
                nodes[tokens[i][1]], i = attrs(i + 1)
        assert tokens[i] == ("sym", ";"), tokens[i]
        i += 1
    assert i == len(tokens) - 1
    return name, nodes, edges


def edge_set(edges):
    return {(a, b, attrs["label"]) for a, b, attrs in edges}


def test_text_is_each_task_in_order_with_its_needs_and_why(graph):
    r = graph(FOUR)
    assert r.returncode == 0, r.stderr
    assert r.stdout == FOUR_TEXT
    assert r.stderr == ""


def test_text_follows_the_graph_not_the_file(graph):
    shuffled = dict(FOUR, tasks=[FOUR["tasks"][3]] + FOUR["tasks"][:3])
    r = graph(shuffled)
    assert r.returncode == 0, r.stderr
    assert r.stdout == FOUR_TEXT


def test_text_shows_after_and_every_kind_of_store_version(graph):
    pipeline = {"tasks": [
        {"name": "fetch", "command": ["f"], "outputs": ["a", "b"]},
        {"name": "check", "command": ["c"]},
        {"name": "use", "command": ["u"], "inputs": ["b", "a", "old:v2", "pinned@sha256:" + DIGEST],
         "after": ["check"], "outputs": ["x", "y"]},
    ]}
    r = graph(pipeline, name="My_Flow.json")
    assert r.returncode == 0, r.stderr
    assert r.stdout == """\
pipeline my-flow: 3 tasks

fetch
  makes  a
         b

check

use
  needs  fetch (b, a)
         check (after)
  reads  old:v2 (store)
         pinned@sha256:%s (store)
  makes  x
         y
""" % DIGEST


def test_dot_reads_back_as_the_graph(graph):
    r = graph(FOUR, "--dot")
    assert r.returncode == 0, r.stderr
    name, nodes, edges = dot_read(r.stdout)
    assert name == "demo"
    assert list(nodes) == FOUR_TASKS + ["raw:v3", "labels:latest"]
    assert all(nodes[t] == {} for t in FOUR_TASKS)
    assert nodes["raw:v3"] == nodes["labels:latest"] == {"shape": "cylinder"}
    assert edge_set(edges) == FOUR_EDGES and len(edges) == len(FOUR_EDGES)


def test_dot_quotes_every_name(graph):
    r = graph(AWKWARD, "--dot")
    assert r.returncode == 0, r.stderr
    name, nodes, edges = dot_read(r.stdout)
    assert name == "1-odd"
    assert list(nodes) == AWKWARD_TASKS + ["raw.v1@sha256:" + DIGEST, "x_y:v12"]
    assert edge_set(edges) == AWKWARD_EDGES and len(edges) == len(AWKWARD_EDGES)
    assert [a.get("style") for _, _, a in edges if a["label"] == "after"] == ["dashed"] * 2


def graphviz_json(dot_text):
    """The graph as Graphviz itself reads it: ({node: shape}, {(from, to, label)})."""
    r = subprocess.run(["dot", "-Tjson"], input=dot_text, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    doc = json.loads(r.stdout)
    names = [o["name"] for o in doc["objects"]]
    return ({o["name"]: o.get("shape") for o in doc["objects"]},
            {(names[e["tail"]], names[e["head"]], e["label"]) for e in doc["edges"]})


needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot is not installed (apt-get install graphviz)")


@needs_dot
@pytest.mark.parametrize("pipeline,tasks,edges", [(FOUR, FOUR_TASKS, FOUR_EDGES),
                                                  (AWKWARD, AWKWARD_TASKS, AWKWARD_EDGES)])
def test_graphviz_reads_the_dot_as_the_graph(graph, pipeline, tasks, edges):
    r = graph(pipeline, "--dot")
    assert r.returncode == 0, r.stderr
    shapes, got = graphviz_json(r.stdout)
    assert got == edges
    assert {n for n, s in shapes.items() if s == "box"} == set(tasks)
    assert {n for n, s in shapes.items() if s == "cylinder"} == {a for a, _, _ in edges} - set(tasks)


@needs_dot
@pytest.mark.parametrize("pipeline,tasks", [(FOUR, FOUR_TASKS), (AWKWARD, AWKWARD_TASKS)])
def test_svg_has_a_node_per_task(graph, pipeline, tasks):
    r = graph(pipeline, "--svg")
    assert r.returncode == 0, r.stderr
    svg = ET.fromstring(r.stdout)
    ns = {"svg": "http://www.w3.org/2000/svg"}
    titles = [g.find("svg:title", ns).text for g in svg.iter("{http://www.w3.org/2000/svg}g")
              if g.get("class") == "node"]
    store = sorted({a for a, _, _ in (FOUR_EDGES if pipeline is FOUR else AWKWARD_EDGES)}
                   - set(tasks))
    assert sorted(titles) == sorted(tasks + store)
    labels = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    for task in tasks:
        assert task in labels


def test_svg_without_graphviz_names_the_package(graph, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    r = graph(FOUR, "--svg", path=str(empty))
    assert r.returncode == 82, r.stderr
    assert r.stdout == ""
    assert "apt-get install graphviz" in r.stderr and "--dot" in r.stderr


def test_svg_when_dot_fails(graph, tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\ncat >/dev/null\necho 'dot: broken' >&2\nexit 3\n")
    (fake / "dot").chmod(0o755)
    r = graph(FOUR, "--svg", path=str(fake) + ":/usr/bin:/bin")
    assert r.returncode == 74
    assert "dot: broken" in r.stderr and "exit status 3" in r.stderr


BAD = [
    ("{\"tasks\": [\n  {\"name\": \"a\"\n   \"command\": [\"a\"]}\n]}\n",  # no comma
     "pipeline.json: not JSON (line 3, column 4); see doc/pipelines.md"),
    ({"tasks": [{"name": "a", "command": ["a"]}, {"name": "b", "command": ["b"]},
                {"name": "c", "command": ["c"], "inputs": ["data:vX"]}]},
     "pipeline.json: tasks[2].inputs[0]: "),
    ({"tasks": [{"name": "a", "command": ["a"], "after": ["b"]},
                {"name": "b", "command": ["b"], "after": ["a"]}]},
     "pipeline.json: the tasks a, b wait on each other in a cycle: a needs b, which needs a; "
     "break it in their \"inputs\" or \"after\""),
    ({"tasks": [{"name": "Train", "command": ["a"]}]},
     "pipeline.json: tasks[0].name: a task's name is 1 to 63 of a-z, 0-9 and '-'"),
]


@pytest.mark.parametrize("mode", [[], ["--dot"], ["--svg"]])
@pytest.mark.parametrize("pipeline,message", BAD)
def test_a_bad_file_is_a_clear_error_and_nothing_on_stdout(graph, mode, pipeline, message):
    r = graph(pipeline, *mode)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("aero-launch: pipeline graph: ")
    assert message in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1


def test_a_missing_file(aero_launch, tmp_path):
    r = subprocess.run([aero_launch, "pipeline", "graph", str(tmp_path / "nope.json")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stdout == ""
    assert "cannot read the pipeline %s" % (tmp_path / "nope.json") in r.stderr


def test_output_that_cannot_be_written(aero_launch, tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps(FOUR))
    with open("/dev/full", "w") as full:
        r = subprocess.run([aero_launch, "pipeline", "graph", "--dot", str(f)], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 74
    assert "cannot write the graph" in r.stderr


@pytest.mark.parametrize("args,status,words", [
    (["pipeline", "graph", "--help"], 0, "Usage: aero-launch pipeline graph [--dot | --svg] FILE"),
    (["pipeline", "--help"], 0, "graph    print the tasks' graph"),
    (["--help"], 0, "pipeline graph"),
    (["pipeline", "graph"], 2, "the pipeline FILE is missing"),
    (["pipeline", "graph", "a.json", "b.json"], 2, "one pipeline FILE at a time"),
    (["pipeline", "graph", "--dot", "--svg", "a.json"], 2, "--dot and --svg exclude each other"),
    (["pipeline", "graph", "--png", "a.json"], 2, "unknown option '--png'"),
    (["pipeline"], 2, "the subcommand is missing"),
    (["pipeline", "draw"], 2, "unknown subcommand 'draw'"),
])
def test_command_line(aero_launch, args, status, words):
    r = subprocess.run([aero_launch, *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == status, r.stderr
    assert words in (r.stdout if status == 0 else r.stderr)
    if status != 0:
        assert r.stdout == ""


def test_the_documented_example_is_what_the_command_prints(graph):
    """doc/pipelines.md's example file, its text and its DOT are the real ones."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "doc", "pipelines.md")) as f:
        doc = f.read()
    blocks = dict(re.findall(r"```(json|text|dot)\n(.*?)```", doc, re.S))
    assert json.loads(blocks["json"]) == FOUR
    assert blocks["text"] == FOUR_TEXT
    r = graph(blocks["json"], "--dot")
    assert r.returncode == 0, r.stderr
    assert r.stdout == blocks["dot"]
