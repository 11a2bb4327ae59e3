"""aero-launch pipeline run against a real Docker engine and the file store:
a four-task pipeline (prepare -> train-a, train-b -> evaluate) whose tasks
put and get artifacts through aero-init; what is up to date is skipped, a
changed config reruns that task and what follows it, a failure stops only
what needs it."""
import glob
import json
import os
import datetime
import shutil
import signal
import subprocess
import time

import pytest

from helpers.gitrepo import git, git_env, make_project
from test_launch_docker import engine  # noqa: F401 (the fixture: a private dockerd)

PIPELINE_FAILED, DIRTY, USAGE = 81, 65, 2

STEPS = """#!/bin/sh
# One script for every task: "$1" says which.
set -e
case "$1" in
prepare)
    mkdir -p /tmp/out
    printf 'rows for %s, seed %s\\n' "$AERO_CONFIG" "$AERO_SEED" > /tmp/out/data.txt
    aero-init artifact put -q digits /tmp/out
    aero-init log rows=3 ;;
train)
    sleep 1
    aero-init artifact get -q digits /tmp/in
    mkdir -p /tmp/m
    { cat /tmp/in/data.txt; echo "$AERO_CONFIG"; } | sha256sum > /tmp/m/model.txt
    aero-init artifact put -q "$2" /tmp/m
    aero-init log loss=0.25 ;;
evaluate)
    aero-init artifact get -q model-a /tmp/a
    aero-init artifact get -q model-b /tmp/b
    cat /tmp/a/model.txt /tmp/b/model.txt
    aero-init log score=0.75 ;;
fail)
    echo "failing on purpose" >&2
    exit 3 ;;
lazy)
    echo "puts nothing" ;;
wait)
    trap 'echo got INT; exit 5' INT
    echo ready
    while :; do sleep 0.1; done ;;
esac
"""


def four_tasks(train_b_lr=0.2, evaluate="evaluate"):
    return {
        "name": "digits",
        "tasks": [
            {"name": "prepare", "command": ["/app/steps.sh", "prepare"],
             "outputs": ["digits"], "config": {"rows": 3}, "seed": 7},
            {"name": "train-a", "command": ["/app/steps.sh", "train", "model-a"],
             "inputs": ["digits"], "outputs": ["model-a"], "config": {"lr": 0.1},
             "seed": 1, "resources": {"cpus": 1, "memory": "256m"}},
            {"name": "train-b", "command": ["/app/steps.sh", "train", "model-b"],
             "inputs": ["digits"], "outputs": ["model-b"], "config": {"lr": train_b_lr},
             "seed": 2},
            {"name": "evaluate", "command": ["/app/steps.sh", evaluate],
             "inputs": ["model-a", "model-b"]},
        ],
    }


@pytest.fixture
def project(engine, tmp_path):  # noqa: F811
    env = git_env(tmp_path)
    env.update({"DOCKER_HOST": engine["DOCKER_HOST"], "AERO_RUNS_DIR": str(tmp_path / "runs"),
                "AERO_CACHE_DIR": str(tmp_path / "cache"),
                "AERO_STORE": "file://" + str(tmp_path / "store")})
    # The image holds the code only, so that editing the pipeline file (in the
    # same commit) leaves the image's content as it was.
    repo = make_project(tmp_path, env, {
        "Dockerfile": "FROM aeromancy/base\nCOPY steps.sh /app/steps.sh\n",
        "steps.sh": (STEPS, 0o755),
        "pipeline.json": json.dumps(four_tasks(), indent=2)})
    return repo, env


def commit_pipeline(repo, env, pipeline):
    with open(os.path.join(repo, "pipeline.json"), "w") as f:
        json.dump(pipeline, f, indent=2)
    git(repo, "commit", "-q", "-am", "change the pipeline", env=env)
    git(repo, "push", "-q", env=env)


def pipeline_run(aero_launch, repo, env, *opts, timeout=300):
    r = subprocess.run([aero_launch, "pipeline", "run", "-C", repo, "--network", "none",
                        "--json", *opts, os.path.join(repo, "pipeline.json")],
                       env=env, capture_output=True, timeout=timeout)
    record = json.loads(r.stdout) if r.stdout.strip() else None
    return r, record


def statuses(record):
    return {t["name"]: t["status"] for t in record["tasks"]}


def task_runs(env):
    """task name -> run directories whose manifest says they ran it."""
    found = {}
    for d in glob.glob(os.path.join(env["AERO_RUNS_DIR"], "*")):
        manifest = os.path.join(d, "manifest.json")
        if os.path.exists(manifest):
            task = json.load(open(manifest))["run"]["pipeline"]["task"]
            found.setdefault(task, []).append(d)
    return found


def test_four_tasks_run_in_order_then_all_are_skipped(aero_launch, project):
    repo, env = project
    r, record = pipeline_run(aero_launch, repo, env, "-j", "2")
    assert r.returncode == 0, r.stderr
    assert statuses(record) == {"prepare": "ran", "train-a": "ran", "train-b": "ran",
                                "evaluate": "ran"}
    runs = task_runs(env)
    assert sorted(runs) == ["evaluate", "prepare", "train-a", "train-b"]
    assert all(len(v) == 1 for v in runs.values())
    by_name = {t["name"]: t for t in record["tasks"]}
    # Each run records which runs and versions fed it, in its own manifest.
    evaluate = json.load(open(os.path.join(runs["evaluate"][0], "manifest.json")))
    fed = {i["name"]: i for i in evaluate["run"]["pipeline"]["inputs"]}
    assert fed["model-a"]["run"] == by_name["train-a"]["run"]
    assert fed["model-a"]["task"] == "train-a"
    assert fed["model-a"]["digest"] == by_name["train-a"]["outputs"][0]["digest"]
    got = {i["name"]: i["digest"] for i in evaluate["inputs"]}
    assert got == {"model-a": fed["model-a"]["digest"], "model-b": fed["model-b"]["digest"]}
    # The task's config reached both the experiment and config.json.
    train_a = runs["train-a"][0]
    assert json.load(open(os.path.join(train_a, "config.json"))) == {"lr": 0.1}
    train_manifest = json.load(open(os.path.join(train_a, "manifest.json")))
    assert train_manifest["seed"]["base"] == "1"
    # Recorded in sections of their own, not as variables: they would change
    # the environment's fingerprint from one pipeline run to the next.
    assert not {"AERO_PIPELINE", "AERO_CONFIG"} & set(train_manifest["env"])
    assert b"[evaluate] " in r.stdout + r.stderr
    # runs show says which pipeline run and task a run was.
    show = subprocess.run([aero_launch, "runs", "show", "--json", by_name["evaluate"]["run"]],
                          env=env, capture_output=True)
    facts = json.loads(show.stdout)
    assert (facts["pipeline"], facts["pipeline_run"], facts["task"]) == \
        ("digits", record["id"], "evaluate")
    show = subprocess.run([aero_launch, "runs", "show", by_name["evaluate"]["run"]], env=env,
                          capture_output=True, text=True)
    assert "task         evaluate\n" in show.stdout
    # -j 2: the two trainings (1 s each) ran at the same time.
    def span(t):
        start = datetime.datetime.fromisoformat(t["started"].replace("Z", "+00:00"))
        return start, start + datetime.timedelta(seconds=t["seconds"])
    (a0, a1), (b0, b1) = span(by_name["train-a"]), span(by_name["train-b"])
    assert a0 < b1 and b0 < a1, "the independent tasks did not overlap under -j 2"
    assert span(by_name["evaluate"])[0] >= max(a1, b1) - datetime.timedelta(seconds=0.01)
    assert by_name["evaluate"]["why"] and by_name["prepare"]["key"].startswith("sha256:")

    r2, again = pipeline_run(aero_launch, repo, env)
    assert r2.returncode == 0, r2.stderr
    assert statuses(again) == {t: "up-to-date" for t in runs}
    assert task_runs(env) == runs, "a task ran again although it was up to date"
    for t in again["tasks"]:
        assert t["run"] == by_name[t["name"]]["run"]
        assert t["key"] == by_name[t["name"]]["key"]
    assert b"0 ran, 4 up to date" in r2.stderr


def test_a_changed_config_reruns_that_task_and_what_follows(aero_launch, project):
    repo, env = project
    r, first = pipeline_run(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    commit_pipeline(repo, env, four_tasks(train_b_lr=0.3))
    r, dry = pipeline_run(aero_launch, repo, env, "--dry-run")
    assert r.returncode == 0, r.stderr
    assert statuses(dry) == {"prepare": "up-to-date", "train-a": "up-to-date",
                             "train-b": "would-run", "evaluate": "would-run"}
    why = {t["name"]: t.get("why", "") for t in dry["tasks"]}
    assert "config" in why["train-b"] and "after train-b" in why["evaluate"]
    assert len(task_runs(env)["train-b"]) == 1, "--dry-run ran something"

    r, second = pipeline_run(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    assert statuses(second) == {"prepare": "up-to-date", "train-a": "up-to-date",
                                "train-b": "ran", "evaluate": "ran"}
    runs = task_runs(env)
    assert {k: len(v) for k, v in runs.items()} == {"prepare": 1, "train-a": 1,
                                                     "train-b": 2, "evaluate": 2}
    before = {t["name"]: t for t in first["tasks"]}
    after = {t["name"]: t for t in second["tasks"]}
    assert after["train-b"]["outputs"][0]["digest"] != before["train-b"]["outputs"][0]["digest"]
    assert after["train-a"]["run"] == before["train-a"]["run"]


def test_a_failure_stops_what_needs_it_and_a_fix_redoes_only_the_rest(aero_launch, project):
    repo, env = project
    broken = four_tasks()
    broken["tasks"][2]["command"] = ["/app/steps.sh", "fail"]
    commit_pipeline(repo, env, broken)
    r, record = pipeline_run(aero_launch, repo, env)
    assert r.returncode == PIPELINE_FAILED, r.stderr
    assert statuses(record) == {"prepare": "ran", "train-a": "ran", "train-b": "failed",
                                "evaluate": "not-run"}
    by_name = {t["name"]: t for t in record["tasks"]}
    assert by_name["train-b"]["exit_status"] == 3
    assert "train-b" in by_name["evaluate"]["why"]
    assert b"failing on purpose" in r.stderr
    commit_pipeline(repo, env, four_tasks())
    r, fixed = pipeline_run(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    assert statuses(fixed) == {"prepare": "up-to-date", "train-a": "up-to-date",
                               "train-b": "ran", "evaluate": "ran"}


def test_only_from_and_force_choose_what_runs(aero_launch, project):
    repo, env = project
    # --only a task whose inputs nobody made yet: refused, nothing runs.
    r, record = pipeline_run(aero_launch, repo, env, "--only", "evaluate")
    assert r.returncode == PIPELINE_FAILED, r.stderr
    assert statuses(record)["evaluate"] == "not-run"
    assert "--only" in {t["name"]: t for t in record["tasks"]}["evaluate"]["why"]
    assert task_runs(env) == {}
    r, _ = pipeline_run(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    r, record = pipeline_run(aero_launch, repo, env, "--only", "train-a")
    assert statuses(record) == {"prepare": "reused", "train-a": "up-to-date",
                                "train-b": "reused", "evaluate": "reused"}
    r, record = pipeline_run(aero_launch, repo, env, "--from", "train-b")
    assert r.returncode == 0, r.stderr
    assert statuses(record) == {"prepare": "reused", "train-a": "reused",
                                "train-b": "ran", "evaluate": "ran"}
    r, record = pipeline_run(aero_launch, repo, env, "--force", "--only", "prepare")
    assert statuses(record)["prepare"] == "ran"
    r = subprocess.run([aero_launch, "pipeline", "run", "--only", "nosuch",
                        os.path.join(repo, "pipeline.json")], env=env, capture_output=True)
    assert r.returncode == USAGE and b"no task 'nosuch'" in r.stderr


def test_a_task_that_does_not_put_its_declared_output_fails(aero_launch, project):
    repo, env = project
    lazy = four_tasks()
    lazy["tasks"][0]["command"] = ["/app/steps.sh", "lazy"]
    commit_pipeline(repo, env, lazy)
    r, record = pipeline_run(aero_launch, repo, env)
    assert r.returncode == PIPELINE_FAILED
    prepare = record["tasks"][0]
    assert prepare["status"] == "failed" and "did not put its output 'digits'" in prepare["why"]
    # Its key is not recorded: the next run tries again.
    r, record = pipeline_run(aero_launch, repo, env)
    assert record["tasks"][0]["status"] == "failed"


def test_outputs_gone_from_the_store_make_the_task_run_again(aero_launch, project):
    repo, env = project
    r, first = pipeline_run(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    store = env["AERO_STORE"][len("file://"):]
    shutil.rmtree(os.path.join(store, "names", "model-a"))
    r, second = pipeline_run(aero_launch, repo, env, "--dry-run")
    assert statuses(second)["train-a"] == "would-run"
    assert "gone from the store" in {t["name"]: t for t in second["tasks"]}["train-a"]["why"]


def test_dirty_checkout_and_bad_files_are_refused(aero_launch, project, tmp_path):
    repo, env = project
    with open(os.path.join(repo, "pipeline.json"), "a") as f:
        f.write("\n")
    r, _ = pipeline_run(aero_launch, repo, env)
    assert r.returncode == DIRTY and task_runs(env) == {}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"tasks": [{"name": "a", "command": ["x"], "after": ["b"]},
                                         {"name": "b", "command": ["y"], "after": ["a"]}]}))
    r = subprocess.run([aero_launch, "pipeline", "run", "-C", repo, str(bad)], env=env,
                       capture_output=True)
    assert r.returncode == USAGE and b"cycle" in r.stderr and r.stdout == b""


def test_an_interrupted_pipeline_stops_its_tasks_and_says_so(aero_launch, project):
    repo, env = project
    waiting = four_tasks()
    waiting["tasks"][1]["command"] = ["/app/steps.sh", "wait"]
    commit_pipeline(repo, env, waiting)
    proc = subprocess.Popen([aero_launch, "pipeline", "run", "-C", repo, "--network", "none",
                             "--json", os.path.join(repo, "pipeline.json")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    seen = b""
    while b"[train-a] ready" not in seen and time.time() < deadline:
        seen += proc.stderr.read1(4096)
    assert b"[train-a] ready" in seen, seen
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGINT, seen + err
    record = json.loads(out)
    by_name = {t["name"]: t for t in record["tasks"]}
    # The task got the signal once, through its container, and ended its own way.
    assert (seen + err).count(b"got INT") == 1
    assert by_name["train-a"]["status"] == "failed" and by_name["train-a"]["exit_status"] == 5
    assert by_name["evaluate"]["status"] == "not-run"
    left = subprocess.run(["docker", "ps", "-aq"], env=env, capture_output=True)
    assert left.stdout == b"", "a task's container was left behind"


def test_the_pipeline_runs_against_an_s3_store(aero_launch, project, tmp_path):
    from helpers.motoserver import MotoServer, missing_programs
    if missing_programs():
        pytest.skip("moto_server or the aws CLI is not installed")
    repo, env = project
    (tmp_path / "moto").mkdir()
    moto = MotoServer(str(tmp_path / "moto"))
    try:
        moto.wait_ready()
        moto.aws("s3", "mb", "s3://pipes")
        env = dict(env, **{k: v for k, v in moto.aws_env().items() if k.startswith("AWS_")},
                   AWS_ENDPOINT_URL=moto.endpoint, AERO_STORE="s3://pipes/store")

        def run(*opts):
            # The host's network, where moto listens on 127.0.0.1.
            r = subprocess.run([aero_launch, "pipeline", "run", "-C", repo, "--network",
                                "host", "--json", *opts, os.path.join(repo, "pipeline.json")],
                               env=env, capture_output=True, timeout=300)
            return r, json.loads(r.stdout) if r.stdout.strip() else None

        r, first = run()
        assert r.returncode == 0, r.stderr
        assert set(statuses(first).values()) == {"ran"}
        # An independent client sees every version in the bucket.
        listing = moto.aws("s3", "ls", "--recursive", "s3://pipes/store/names/")
        for name in ("digits", "model-a", "model-b"):
            assert "store/names/%s/v1.json" % name in listing, listing
        r, second = run()
        assert r.returncode == 0, r.stderr
        assert set(statuses(second).values()) == {"up-to-date"}
    finally:
        moto.stop()
    assert not os.path.exists(os.path.join(tmp_path, "store")), "the file store was used"
