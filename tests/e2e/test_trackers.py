"""The tracker sinks against the W&B and MLflow doubles (tests/e2e/doubles):
everything the experiment records reaches the tracker exactly once and in
order, whatever the tracker does meanwhile (429 with Retry-After, 5xx, hangs,
resets after the server has stored the request, the server killed and started
again), and a tracker that is down never changes the run's outcome:
`aero-init sync` delivers the rest afterwards."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import clean_env, memcheck, wait_until
from doubles.fixtures import (mlflow_double, start_wandb, wandb_double,  # noqa: F401
                              WANDB_ENTITY)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT_PATH = os.path.join(ROOT, "image", "python")

EXPERIMENT = """
import aeromancy, os, sys, time
rows = int(os.environ.get("ROWS", "40"))
aeromancy.config({"lr": 0.0003, "layers": 4, "optimizer": "adam"})
aeromancy.tags("baseline", "cpu")
aeromancy.notes("first try")
for i in range(rows):
    aeromancy.log({"loss": 1.0 / (i + 1), "acc": i / rows, "epoch": i // 10})
    if i % 10 == 0:
        print("epoch", i // 10, flush=True)
        print("warning at", i, file=sys.stderr, flush=True)
    time.sleep(float(os.environ.get("PAUSE", "0")))
aeromancy.log({"loss": float("nan"), "acc": float("inf")})
aeromancy.summary({"best_loss": 0.025})
sys.exit(int(os.environ.get("EXIT", "0")))
"""


def start(aero_init, run_dir, tracker, env, *extra, code=EXPERIMENT):
    env = clean_env({"PYTHONPATH": CLIENT_PATH, "AERO_TRACKER": tracker,
                     "AERO_TRACKER_INTERVAL": "200ms", "AERO_HTTP_TIMEOUT": "3s",
                     "AERO_SYSTEM_INTERVAL": "300ms", **env})
    return subprocess.Popen([aero_init, "-s", "7", "--run-dir", str(run_dir), *extra, "--",
                             sys.executable, "-c", code], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_aero(aero_init, run_dir, tracker, env, *extra, timeout=120, code=EXPERIMENT):
    proc = start(aero_init, run_dir, tracker, env, *extra, code=code)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def sync(aero_init, run_dir, env, *extra, timeout=120):
    env = clean_env({"AERO_HTTP_TIMEOUT": "3s", **env})
    return subprocess.run([aero_init, "sync", *extra, str(run_dir)], env=env, text=True,
                          capture_output=True, timeout=timeout)


def spool(run_dir, name):
    path = os.path.join(run_dir, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


def the_run(double):
    runs = double.state()["runs"]
    assert len(runs) == 1, runs.keys()
    return next(iter(runs.values()))


def wandb_history(run):
    return [json.loads(line) for line in run["files"].get("wandb-history.jsonl", [])]


def assert_wandb_has_everything(double, run_dir, exitcode):
    run = the_run(double)
    sent = spool(run_dir, "metrics.jsonl")
    got = wandb_history(run)
    assert len(got) == len(sent)
    for mine, theirs in zip(sent, got):
        for key, value in mine.items():
            if value == "NaN":
                assert theirs[key] != theirs[key]  # a bare NaN token
            elif value == "Infinity":
                assert theirs[key] == float("inf")
            else:
                assert theirs[key] == value, key
    events = run["files"].get("wandb-events.jsonl", [])
    assert len(events) == len(spool(run_dir, "system.jsonl"))
    assert all(json.loads(e)["_wandb"] is True for e in events)
    summary = json.loads(run["files"]["wandb-summary.json"][0])
    assert summary["best_loss"] == 0.025 and summary["_step"] == sent[-1]["_step"]
    assert run["state"] == ("finished" if exitcode == 0 else "failed")
    assert run["exitcode"] == exitcode
    return run


@pytest.fixture
def wandb_env(wandb_double):
    return dict(wandb_double.env, WANDB_PROJECT="aero-tests")


@memcheck
def test_wandb_gets_the_whole_run(aero_init, tmp_path, wandb_double, wandb_env):
    code, out, err = run_aero(aero_init, tmp_path, "wandb", dict(wandb_env, EXIT="3"))
    assert code == 3, err
    run = assert_wandb_has_everything(wandb_double, tmp_path, 3)
    # The run's URL, printed at the start.
    assert "%s/%s/aero-tests/runs/%s" % (wandb_double.url, WANDB_ENTITY, run["name"]) in err
    assert run["project"] == "aero-tests" and run["entity"] == WANDB_ENTITY
    # Config: hyperparameters as {"value": ...}, plus the manifest.
    assert run["config"]["lr"] == {"value": 0.0003}
    assert run["config"]["aeromancy"]["value"]["seed"]["base"] == "7"
    assert run["tags"] == ["baseline", "cpu"] and run["notes"] == "first try"
    assert run["program"] == sys.executable
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert run["host"] == manifest["run"]["hostname"]
    assert run["displayName"] == manifest["run"]["id"]
    # The manifest uploaded as a run file, listed in file_stream's `uploaded`.
    assert "aeromancy-manifest.json" in run["uploaded"]
    upload = run["uploads"]["aeromancy-manifest.json"]
    assert json.loads(wandb_double.blob(upload["sha256"])) == manifest
    # Every API call authenticated; the signed upload URL without credentials.
    for req in wandb_double.requests():
        auth = {k.lower(): v for k, v in req["headers"].items()}.get("authorization")
        if req["path"].startswith("/_upload/"):
            assert auth is None
        else:
            assert auth == wandb_double.auth_header, req["path"]
    # The cursor says everything went and the run is finished.
    cursor = json.loads((tmp_path / "sinks" / "wandb.json").read_text())
    assert cursor["finished"] is True
    assert cursor["metrics"]["line"] == len(spool(tmp_path, "metrics.jsonl"))


def test_wandb_console_lines(aero_init, tmp_path, wandb_double, wandb_env):
    code, out, err = run_aero(aero_init, tmp_path, "wandb", wandb_env)
    assert code == 0, err
    if not (tmp_path / "output.log").exists():
        pytest.skip("console capture is off here")
    lines = the_run(wandb_double)["files"]["output.log"]
    local = (tmp_path / "output.log").read_text().splitlines()
    assert len(lines) == len(local)
    assert any(line.endswith(" epoch 0") and not line.startswith("ERROR ") for line in lines)
    assert any(line.startswith("ERROR ") and line.endswith(" warning at 0") for line in lines)
    stamp = lines[0].split(" ")[0]
    assert len(stamp) == 26 and not stamp.endswith("Z")  # 2026-11-26T14:43:53.123456


@memcheck
def test_wandb_faults_lose_and_double_nothing(aero_init, tmp_path, wandb_double, wandb_env):
    # Consecutive failures back off 2 s, 4 s, 8 s...: a few faults in a row.
    wandb_double.faults([
        {"match": "file_stream", "kind": "status", "status": 429, "retry_after": "1"},
        {"match": "file_stream", "kind": "reset", "when": "after"},
        {"match": "file_stream", "kind": "status", "status": 503, "when": "after"},
    ])
    code, out, err = run_aero(aero_init, tmp_path, "wandb", dict(wandb_env, PAUSE="0.02"))
    assert code == 0, err
    assert wandb_double.faults([]) == []  # every fault was met
    assert_wandb_has_everything(wandb_double, tmp_path, 0)
    # Retry-After was honoured: the retry came a second or more after the 429.
    reqs = [r for r in wandb_double.requests() if "file_stream" in r["path"]]
    first = next(i for i, r in enumerate(reqs) if r["status"] == 429)
    assert reqs[first + 1]["time"] - reqs[first]["answered_at"] >= 0.95
    assert "trying again" in err


def test_wandb_hangs_and_graphql_errors(aero_init, tmp_path, wandb_double, wandb_env):
    wandb_double.faults([
        {"match": "graphql", "kind": "status", "status": 502},
        {"match": "file_stream", "kind": "hang", "seconds": 6},
        {"match": "file_stream", "kind": "reset"},
    ])
    code, out, err = run_aero(aero_init, tmp_path, "wandb", dict(wandb_env, PAUSE="0.02"))
    assert code == 0, err
    assert wandb_double.faults([]) == []
    assert_wandb_has_everything(wandb_double, tmp_path, 0)


@memcheck
def test_wandb_server_killed_and_restarted(aero_init, tmp_path, wandb_double, wandb_env):
    proc = start(aero_init, tmp_path, "wandb", dict(wandb_env, ROWS="60", PAUSE="0.05"))
    wait_until(lambda: len(spool(tmp_path, "metrics.jsonl")) >= 10, what="rows")
    wandb_double.kill()
    time.sleep(1.0)
    wandb_double.restart()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert_wandb_has_everything(wandb_double, tmp_path, 0)


@memcheck
def test_wandb_down_for_the_whole_run_then_sync(aero_init, tmp_path, wandb_env):
    double = start_wandb(tmp_path / "double")
    env = dict(wandb_env, WANDB_BASE_URL=double.url, AERO_TRACKER_TIMEOUT="2s")
    double.kill()  # nothing listens there now
    began = time.monotonic()
    code, out, err = run_aero(aero_init, tmp_path / "run", "wandb", dict(env, EXIT="5"))
    assert code == 5, err  # the outcome is the experiment's, not the tracker's
    assert time.monotonic() - began < 30
    assert "aero-init sync %s" % (tmp_path / "run") in err
    assert (tmp_path / "run" / "run.json").exists()
    double.start()
    try:
        r = sync(aero_init, tmp_path / "run", env)
        assert r.returncode == 0, r.stderr
        assert_wandb_has_everything(double, tmp_path / "run", 5)
        calls = len(double.requests())
        # Exactly once: a second sync has nothing to send.
        r = sync(aero_init, tmp_path / "run", env)
        assert r.returncode == 0, r.stderr
        assert len(double.requests()) == calls
    finally:
        double.kill()


def test_sync_is_resumable(aero_init, tmp_path, wandb_env):
    double = start_wandb(tmp_path / "double")
    env = dict(wandb_env, WANDB_BASE_URL=double.url, AERO_TRACKER_TIMEOUT="1s")
    double.kill()
    code, out, err = run_aero(aero_init, tmp_path / "run", "wandb", dict(env, ROWS="30"))
    assert code == 0, err
    double.start()
    try:
        # The tracker answers 503 for a while: sync gives up in time, 75.
        double.faults([{"match": "file_stream", "kind": "status", "status": 503,
                        "count": 50}])
        r = sync(aero_init, tmp_path / "run", env, "--timeout", "3s")
        assert r.returncode == 75, r.stderr
        double.clear_faults()
        r = sync(aero_init, tmp_path / "run", env)
        assert r.returncode == 0, r.stderr
        assert_wandb_has_everything(double, tmp_path / "run", 0)
    finally:
        double.kill()


def test_wandb_stop_from_the_ui_ends_the_experiment(aero_init, tmp_path, wandb_double,
                                                    wandb_env):
    code = """
import aeromancy, signal, sys, time
def bye(*_):
    aeromancy.summary({"stopped": True})
    sys.exit(143)
signal.signal(signal.SIGTERM, bye)
aeromancy.log({"x": 1})
time.sleep(60)
"""
    proc = start(aero_init, tmp_path, "wandb", wandb_env, code=code)
    wait_until(lambda: spool(tmp_path, "metrics.jsonl"), what="the first row")
    wandb_double.stop()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "stopped from the tracker" in err
    run = the_run(wandb_double)
    assert run["state"] == "failed" and run["exitcode"] == 143
    assert json.loads(run["files"]["wandb-summary.json"][0])["stopped"] is True


def test_wandb_bad_key_is_refused_for_good(aero_init, tmp_path, wandb_double, wandb_env):
    env = dict(wandb_env, WANDB_API_KEY="x" * 40)
    code, out, err = run_aero(aero_init, tmp_path, "wandb", dict(env, ROWS="3"))
    assert code == 0, err
    assert "refused for good" in err and "401" in err
    assert wandb_double.state()["runs"] == {}
    r = sync(aero_init, tmp_path, env)
    assert r.returncode == 1 and "401" in r.stderr
    # With the right key the records are all still there to deliver.
    r = sync(aero_init, tmp_path, wandb_env)
    assert r.returncode == 0, r.stderr
    assert_wandb_has_everything(wandb_double, tmp_path, 0)


def test_wandb_without_credentials_keeps_the_records(aero_init, tmp_path, wandb_double,
                                                     wandb_env):
    env = {k: v for k, v in wandb_env.items() if k != "WANDB_API_KEY"}
    code, out, err = run_aero(aero_init, tmp_path, "wandb", dict(env, HOME=str(tmp_path), ROWS="3"))
    assert code == 0, err
    assert "set WANDB_API_KEY" in err
    # ~/.netrc is read as the SDK does.
    host = wandb_double.url.split("//")[1].split(":")[0]
    (tmp_path / ".netrc").write_text("machine %s\n  login user\n  password %s\n"
                                     % (host, wandb_double.api_key))
    r = sync(aero_init, tmp_path, dict(env, HOME=str(tmp_path)))
    assert r.returncode == 0, r.stderr
    assert_wandb_has_everything(wandb_double, tmp_path, 0)


def test_a_bad_http_timeout_is_said(aero_init, tmp_path, wandb_double, wandb_env):
    code, out, err = run_aero(aero_init, tmp_path, "wandb",
                              dict(wandb_env, ROWS="2", AERO_HTTP_TIMEOUT="soon"))
    assert code == 0, err
    assert "AERO_HTTP_TIMEOUT: " in err and "using 60s" in err
    assert_wandb_has_everything(wandb_double, tmp_path, 0)


def test_unknown_tracker_is_a_settings_error(aero_init, tmp_path):
    r = subprocess.run([aero_init, "--run-dir", str(tmp_path), "--", "true"], text=True,
                       capture_output=True, env=clean_env({"AERO_TRACKER": "wandb,neptune"}))
    assert r.returncode == 125
    assert "unknown tracker 'neptune'" in r.stderr
    assert not (tmp_path / "manifest.json").exists()


# ---- MLflow -------------------------------------------------------------------

def mlflow_run(double):
    runs = double.state()["runs"]
    assert len(runs) == 1, runs.keys()
    return next(iter(runs.values()))


def assert_mlflow_has_everything(double, run_dir, status):
    run = mlflow_run(double)
    sent = spool(run_dir, "metrics.jsonl")
    expected = []
    for row in sent:
        for key, value in row.items():
            if key.startswith("_"):
                continue
            expected.append((key, row["_step"], int(row["_timestamp"] * 1000), value))
    got = [(m["key"], m["step"], m["timestamp"], m["value"]) for m in run["metrics"]
           if not m["key"].startswith("system/")]

    def norm(v):
        return "NaN" if v != v else ("Infinity" if v == float("inf") else v)
    assert sorted((k, s, t, norm(v)) for k, s, t, v in got) == \
        sorted((k, s, t, norm(v)) for k, s, t, v in expected)
    # In order, per key.
    for key in ("loss", "acc"):
        steps = [m["step"] for m in run["metrics"] if m["key"] == key]
        assert steps == sorted(steps)
    system = [m for m in run["metrics"] if m["key"].startswith("system/")]
    assert len({m["step"] for m in system}) == len(spool(run_dir, "system.jsonl"))
    assert run["status"] == status and run["end_time"] >= run["start_time"] > 0
    return run


@pytest.fixture
def mlflow_env(mlflow_double):
    return dict(mlflow_double.env, MLFLOW_EXPERIMENT_NAME="aero tests")


@memcheck
def test_mlflow_gets_the_whole_run(aero_init, tmp_path, mlflow_double, mlflow_env):
    code, out, err = run_aero(aero_init, tmp_path, "mlflow", mlflow_env)
    assert code == 0, err
    run = assert_mlflow_has_everything(mlflow_double, tmp_path, "FINISHED")
    experiments = mlflow_double.state()["experiments"]
    assert [e["name"] for e in experiments.values() if e["name"] != "Default"] == ["aero tests"]
    assert run["params"] == {"lr": "0.0003", "layers": "4", "optimizer": "adam"}
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    tags = run["tags"]
    assert tags["mlflow.source.type"] == "JOB"
    assert tags["mlflow.runName"] == manifest["run"]["id"]
    assert tags["mlflow.source.name"].startswith(sys.executable + " -c")
    assert tags["mlflow.note.content"] == "first try"
    assert tags["baseline"] == "true" and tags["cpu"] == "true"
    artifacts = mlflow_double.state()["artifacts"]
    names = [p for p in artifacts if p.endswith("aeromancy/manifest.json")]
    assert len(names) == 1
    assert json.loads(mlflow_double.blob(artifacts[names[0]]["sha256"])) == manifest
    for req in mlflow_double.requests():
        auth = {k.lower(): v for k, v in req["headers"].items()}.get("authorization")
        assert auth == mlflow_double.auth_header, req["path"]


def test_mlflow_batches_stay_within_the_limits(aero_init, tmp_path, mlflow_double, mlflow_env):
    code = """
import aeromancy
for i in range(60):
    aeromancy.log({"m%03d" % k: i * k for k in range(40)})
"""
    rc, out, err = run_aero(aero_init, tmp_path, "mlflow", mlflow_env, code=code)
    assert rc == 0, err
    run = mlflow_run(mlflow_double)
    assert len([m for m in run["metrics"] if m["key"].startswith("m")]) == 60 * 40
    batches = [r for r in mlflow_double.requests() if r["path"].endswith("runs/log-batch")]
    assert len(batches) >= 3 and all(r["status"] == 200 for r in batches)


def test_mlflow_faults_lose_and_double_nothing(aero_init, tmp_path, mlflow_double, mlflow_env):
    mlflow_double.faults([
        {"match": "runs/create", "kind": "status", "status": 503},
        {"match": "log-batch", "kind": "status", "status": 429, "retry_after": "1"},
        {"match": "log-batch", "kind": "reset", "when": "after"},
        {"match": "runs/update", "kind": "reset", "when": "after"},
    ])
    code, out, err = run_aero(aero_init, tmp_path, "mlflow", dict(mlflow_env, PAUSE="0.02"))
    assert code == 0, err
    assert mlflow_double.faults([]) == []
    assert_mlflow_has_everything(mlflow_double, tmp_path, "FINISHED")
    assert len(mlflow_double.state()["runs"]) == 1  # runs/create retried, not doubled


@memcheck
def test_mlflow_server_killed_and_restarted(aero_init, tmp_path, mlflow_double, mlflow_env):
    """The tracker killed mid-run (SIGKILL: connections reset, nothing said)
    and started again on its stored state: every row arrives once."""
    proc = start(aero_init, tmp_path, "mlflow", dict(mlflow_env, ROWS="60", PAUSE="0.05"))
    wait_until(lambda: len(spool(tmp_path, "metrics.jsonl")) >= 10, what="rows")
    mlflow_double.kill()
    time.sleep(1.0)
    mlflow_double.restart()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert_mlflow_has_everything(mlflow_double, tmp_path, "FINISHED")
    assert len(mlflow_double.state()["runs"]) == 1


@memcheck
@pytest.mark.parametrize("sig,status", [("SIGKILL", "FAILED"), ("SIGTERM", "KILLED")])
def test_mlflow_killed_experiment(aero_init, tmp_path, mlflow_double, mlflow_env, sig, status):
    code = """
import aeromancy, os, signal
aeromancy.log({"loss": 1.0})
os.kill(os.getpid(), signal.%s)
""" % sig
    rc, out, err = run_aero(aero_init, tmp_path, "mlflow", mlflow_env, code=code)
    assert rc == 128 + getattr(signal, sig), err
    run = mlflow_run(mlflow_double)
    # Killed by the OOM killer (SIGKILL) is a failure; stopped (SIGTERM) is KILLED.
    assert run["status"] == status
    assert [m["value"] for m in run["metrics"] if m["key"] == "loss"] == [1.0]


def test_mlflow_deleted_experiment_is_a_clear_error(aero_init, tmp_path, mlflow_double,
                                                    mlflow_env):
    mlflow_double.control("POST", "experiments", {"name": "gone", "lifecycle_stage": "deleted"})
    code, out, err = run_aero(aero_init, tmp_path, "mlflow",
                         dict(mlflow_env, MLFLOW_EXPERIMENT_NAME="gone", ROWS="2"))
    assert code == 0, err
    assert "is deleted" in err and "MLFLOW_EXPERIMENT_NAME" in err


def test_both_trackers_at_once(aero_init, tmp_path, wandb_double, wandb_env, mlflow_double,
                               mlflow_env):
    code, out, err = run_aero(aero_init, tmp_path, "wandb,mlflow", {**wandb_env, **mlflow_env})
    assert code == 0, err
    assert_wandb_has_everything(wandb_double, tmp_path, 0)
    assert_mlflow_has_everything(mlflow_double, tmp_path, "FINISHED")


TASK_CODE = """
import aeromancy
assert aeromancy.task_config() == {"lr": 0.1, "layers": 2}, aeromancy.task_config()
aeromancy.log({"loss": 0.5})
"""


def test_a_pipeline_task_is_grouped_and_configured_in_both_trackers(
        aero_init, tmp_path, wandb_double, wandb_env, mlflow_double, mlflow_env):
    # What `aero-launch pipeline run` gives each task's aero-init.
    pipeline = {"name": "digits", "id": "20261127-000000-0badcafe", "task": "train-a",
                "key": "sha256:" + "ab" * 32, "config": {"lr": 0.1}, "inputs": []}
    env = dict(wandb_env, **mlflow_env, AERO_PIPELINE=json.dumps(pipeline),
               AERO_CONFIG='{"lr": 0.1, "layers": 2}', WANDB_RUN_GROUP="digits-20261127",
               WANDB_JOB_TYPE="train-a")
    code, out, err = run_aero(aero_init, tmp_path, "wandb,mlflow", env, code=TASK_CODE)
    assert code == 0, err
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["run"]["pipeline"] == pipeline
    assert json.loads((tmp_path / "config.json").read_text()) == {"lr": 0.1, "layers": 2}
    run = the_run(wandb_double)
    assert run["groupName"] == "digits-20261127" and run["jobType"] == "train-a"
    assert run["config"]["lr"] == {"value": 0.1} and run["config"]["layers"] == {"value": 2}
    assert run["config"]["aeromancy"]["value"]["run"]["pipeline"]["task"] == "train-a"
    run = the_run(mlflow_double)
    assert run["params"] == {"lr": "0.1", "layers": "2"}
    tags = run["tags"]
    assert tags["aeromancy.pipeline"] == "digits"
    assert tags["aeromancy.pipeline_run"] == pipeline["id"]
    assert tags["aeromancy.task"] == "train-a"


def test_a_bad_aero_config_stops_the_run_before_it_starts(aero_init, tmp_path):
    code, out, err = run_aero(aero_init, tmp_path, "local", {"AERO_CONFIG": "[1, 2]"},
                              code=TASK_CODE)
    assert code == 125 and "AERO_CONFIG is not a JSON object" in err
    # The experiment never started: it would have logged a row.
    metrics = tmp_path / "metrics.jsonl"
    assert not metrics.exists() or metrics.read_text() == ""
