"""Artifacts inside a run: `aero-init artifact` and the Python client's
use_artifact / log_artifact ask the run's aero-init over AERO_SOCKET; a worker
of aero-init's (not of the experiment's) does the transfer with the asker's
stdout and stderr, the asker gets the worker's exit status, and every get and
put lands in artifacts.jsonl, the manifest's inputs and outputs, the next
put's lineage, and the trackers."""
import json
import os
import socket
import subprocess
import sys

from conftest import clean_env, memcheck
from doubles.fixtures import mlflow_double, wandb_double  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT_PATH = os.path.join(ROOT, "image", "python")
UNKNOWN = 76

SHELL_EXPERIMENT = r"""
set -e
mkdir -p out && printf 'weights' > out/model.bin && printf 'cfg' > out/config.txt
aero-init artifact put --json model out > put.json
# aero-init's worker does the transfer, with aero-init's settings: a store
# this process names (one it could not use itself) changes nothing.
AERO_STORE=ftp://nowhere aero-init artifact get --json model got > get.json
cmp out/model.bin got/model.bin
set +e
aero-init artifact get nosuchthing got2 2> missing.err
echo "missing=$?" > status.txt
"""


def run_under_init(aero_init, tmp_path, script, extra_env=None, program=("sh", "-c"), args=()):
    run_dir = tmp_path / "run"
    work = tmp_path / "work"
    work.mkdir()
    env = clean_env({"AERO_STORE": "file://" + str(tmp_path / "store"),
                     "AERO_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": CLIENT_PATH,
                     "PATH": os.path.dirname(aero_init) + ":" + os.environ["PATH"],
                     **(extra_env or {})})
    # The experiment finds `aero-init` on PATH as in the image.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(aero_init, bin_dir / "aero-init")
    env["PATH"] = str(bin_dir) + ":" + os.environ["PATH"]
    r = subprocess.run([aero_init, "--run-dir", str(run_dir), "--", *program, script, *args],
                       cwd=work, env=env, capture_output=True, text=True, timeout=120)
    return r, run_dir, work


def journal(run_dir):
    with open(run_dir / "artifacts.jsonl") as f:
        return [json.loads(line) for line in f]


@memcheck
def test_shell_requests_go_through_aero_init(aero_init, tmp_path):
    r, run_dir, work = run_under_init(aero_init, tmp_path, SHELL_EXPERIMENT)
    assert r.returncode == 0, r.stderr
    put = json.loads((work / "put.json").read_text())
    got = json.loads((work / "get.json").read_text())
    assert put["op"] == "put" and put["name"] == "model" and put["version"] == 1
    assert got["op"] == "get" and got["digest"] == put["digest"] and got["files"] == 2
    # Relative paths are the experiment's: the worker ran in its directory.
    assert (work / "got" / "config.txt").read_text() == "cfg"
    # The worker's exit status came back, and its message went to the asker's stderr.
    assert (work / "status.txt").read_text().strip() == "missing=%d" % UNKNOWN
    assert "nosuchthing" in (work / "missing.err").read_text()
    # Recorded: the journal, the manifest's inputs and outputs.
    ops = [(e["op"], e["name"], e["version"]) for e in journal(run_dir)]
    assert ops == [("put", "model", 1), ("get", "model", 1)]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    entry = {"name": "model", "version": 1, "digest": put["digest"], "files": 2,
             "size": put["size"]}
    assert manifest["outputs"] == [entry]
    assert manifest["inputs"] == [entry]


@memcheck
def test_python_client_and_lineage(aero_init, tmp_path):
    code = """
import aeromancy, json, os
os.makedirs("raw", exist_ok=True)
open("raw/data.csv", "w").write("a,b\\n1,2\\n")
first = aeromancy.log_artifact("raw", "raw")
got = aeromancy.use_artifact("raw:v1", "input")
os.makedirs("out", exist_ok=True)
open("out/model.bin", "w").write(open("input/data.csv").read() * 2)
made = aeromancy.log_artifact("model", "out/model.bin")
try:
    aeromancy.use_artifact("raw:v9", "nowhere")
    raise SystemExit("no error for a missing version")
except aeromancy.AeromancyError as e:
    print("error:", e)
print(json.dumps([first, got, made]))
"""
    r, run_dir, work = run_under_init(aero_init, tmp_path, code, program=(sys.executable, "-c"))
    assert r.returncode == 0, r.stderr
    first, got, made = json.loads(r.stdout.strip().splitlines()[-1])
    assert "exit status %d" % UNKNOWN in r.stdout
    assert first["version"] == 1 and got["digest"] == first["digest"]
    assert made["name"] == "model" and made["version"] == 1
    # The model's lineage names this run and the input it got.
    store = tmp_path / "store"
    record = json.loads((store / "names" / "model" / "v1.json").read_text())
    assert [i["name"] for i in record["lineage"]["inputs"]] == ["raw"]
    assert record["lineage"]["inputs"][0]["digest"].endswith(first["digest"].split(":")[-1])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert [o["name"] for o in manifest["outputs"]] == ["raw", "model"]
    assert [i["name"] for i in manifest["inputs"]] == ["raw"]


def test_malformed_requests_are_refused(aero_init, tmp_path):
    code = """
import json, os, socket
answers = []
for msg in ({"type": "artifact", "args": "get x y"},
            {"type": "artifact", "args": ["get", 3]},
            {"type": "artifact", "args": ["get", "x", "y"], "cwd": "relative"},
            {"type": "artifact", "args": []}):
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.environ["AERO_SOCKET"])
    s.sendall(json.dumps(msg).encode() + b"\\n")
    answers.append(json.loads(s.makefile().readline()))
    s.close()
print(json.dumps(answers))
"""
    r, run_dir, _ = run_under_init(aero_init, tmp_path, code, program=(sys.executable, "-c"))
    assert r.returncode == 0, r.stderr
    answers = json.loads(r.stdout.strip().splitlines()[-1])
    assert [a["ok"] for a in answers] == [False] * 4
    assert "args" in answers[0]["error"] and "cwd" in answers[2]["error"]
    assert not (run_dir / "artifacts.jsonl").exists()


def test_trackers_hear_of_the_artifacts(aero_init, tmp_path, mlflow_double, wandb_double):
    env = {"AERO_TRACKER": "mlflow,wandb", "AERO_TRACKER_INTERVAL": "200ms",
           **mlflow_double.env, **wandb_double.env}
    # The pause lets the trackers hear of the artifacts before the run ends, so
    # that the end's own update (run.json) comes after theirs and must carry
    # the manifest with them too.
    r, run_dir, work = run_under_init(aero_init, tmp_path, SHELL_EXPERIMENT + "sleep 1\n", env)
    assert r.returncode == 0, r.stderr
    digest = json.loads((work / "put.json").read_text())["digest"]
    runs = mlflow_double.state()["runs"]
    [run] = runs.values()
    tags = run["tags"] if isinstance(run["tags"], dict) else {
        t["key"]: t["value"] for t in run["tags"]}
    assert tags["aeromancy.output.model"] == "v1 " + digest
    assert tags["aeromancy.input.model"] == "v1 " + digest
    [wrun] = wandb_double.state()["runs"].values()
    config = json.loads(wrun["config"]) if isinstance(wrun["config"], str) else wrun["config"]
    manifest = config["aeromancy"]["value"]
    assert [o["name"] for o in manifest["outputs"]] == ["model"]
    assert [i["digest"] for i in manifest["inputs"]] == [digest]


HERMETIC_EXPERIMENT = r"""
import json, subprocess, sys, urllib.request
# Undeclared downloads fail: the experiment has no network sockets.
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=5).read()
    sys.exit("the experiment reached the network")
except OSError as e:
    print("direct:", e, flush=True)
# Declared inputs arrive: aero-init's worker, outside the filter, fetches them.
r = subprocess.run(["aero-init", "artifact", "get", "--json", "data:v1", "in"],
                   capture_output=True, text=True)
print("get:", r.returncode, r.stdout.strip(), r.stderr.strip(), flush=True)
open("in/a.txt").read()
import aeromancy
aeromancy.log({"loss": 1.0})
"""


def test_hermetic_run_gets_declared_inputs_from_s3(aero_init, tmp_path):
    import pytest
    from helpers.motoserver import MotoServer, missing_programs
    if missing_programs():
        pytest.skip("moto_server or the aws CLI is not installed")
    if os.geteuid() != 0:
        pytest.skip("--hermetic needs root here (capabilities and no_new_privs tests)")
    (tmp_path / "moto").mkdir()
    moto = MotoServer(str(tmp_path / "moto"))
    try:
        moto.wait_ready()
        moto.aws("s3", "mb", "s3://hermetic")
        env = {k: v for k, v in moto.aws_env().items() if k.startswith("AWS_")}
        env.update({"AWS_ENDPOINT_URL": moto.endpoint, "AERO_STORE": "s3://hermetic/store",
                    "AERO_CACHE_DIR": str(tmp_path / "cache")})
        src = tmp_path / "src"
        src.mkdir()
        (src / "a.txt").write_text("declared input\n")
        r = subprocess.run([aero_init, "artifact", "put", "data", str(src)],
                           env=clean_env(env), capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        r, run_dir, work = run_under_init(aero_init, tmp_path, HERMETIC_EXPERIMENT,
                                          {**env, "AERO_HERMETIC": "1"},
                                          program=(sys.executable, "-c"),
                                          args=(moto.endpoint,))
    finally:
        moto.stop()
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Operation not permitted" in r.stdout, r.stdout
    assert "get: 0 " in r.stdout, r.stdout
    assert (work / "in" / "a.txt").read_text() == "declared input\n"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["run"]["privileges"]["seccomp"] == "filter"
    assert [i["name"] for i in manifest["inputs"]] == ["data"]


OUTPUTS_EXPERIMENT = r"""
set -e
mkdir -p a b
printf 'first' > a/f && aero-init artifact put --json model a > put1.json
printf 'second' > b/f && aero-init artifact put --json model b > put2.json
aero-init artifact put --json clean.v1 a > put3.json
aero-init artifact get model got
"""


@memcheck
def test_each_put_is_noted_in_the_run_directorys_outputs(aero_init, tmp_path):
    """RUN_DIR/outputs/NAME holds sha256:<manifest digest> of the latest put of
    NAME in the run (what Argo reads as the task's output parameter,
    doc/argo.md), written whole (no temporary file left); a get notes nothing."""
    r, run_dir, work = run_under_init(aero_init, tmp_path, OUTPUTS_EXPERIMENT)
    assert r.returncode == 0, r.stderr
    put1, put2, put3 = (json.loads((work / n).read_text())
                        for n in ("put1.json", "put2.json", "put3.json"))
    assert put1["digest"] != put2["digest"] and put2["version"] == 2
    outputs = run_dir / "outputs"
    assert sorted(os.listdir(outputs)) == ["clean.v1", "model"]
    assert (outputs / "model").read_text() == put2["digest"]
    assert (outputs / "clean.v1").read_text() == put3["digest"]
    assert put2["digest"].startswith("sha256:") and len(put2["digest"]) == 7 + 64


def test_a_put_by_the_cli_with_a_run_directory_is_noted(aero_init, tmp_path):
    """`aero-init artifact put` with AERO_RUN_DIR and no channel notes it the
    same way; without AERO_RUN_DIR there is nothing to note it in."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    env = clean_env({"AERO_STORE": "file://" + str(tmp_path / "store"),
                     "AERO_CACHE_DIR": str(tmp_path / "cache")})
    put = [aero_init, "artifact", "put", "--json", "x", str(tmp_path / "d")]
    r = subprocess.run(put, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "outputs").exists()
    (tmp_path / "run").mkdir()
    env["AERO_RUN_DIR"] = str(tmp_path / "run")
    r = subprocess.run(put, env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "run" / "outputs" / "x").read_text() == json.loads(r.stdout)["digest"]
    assert os.listdir(tmp_path / "run" / "outputs") == ["x"]
