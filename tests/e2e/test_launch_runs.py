"""aero-launch runs ls|show|diff and aero-launch sync over runs that aero-init
recorded in the runs directory."""
import json
import os
import subprocess
import sys

from conftest import clean_env
from doubles.fixtures import start_wandb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT_PATH = os.path.join(ROOT, "image", "python")


def record(aero_init, runs, *args, code="import aeromancy; aeromancy.log({'x': 1})", env=None):
    r = subprocess.run([aero_init, *args, "--", sys.executable, "-c", code], text=True,
                       capture_output=True, env=clean_env({"AERO_RUNS_DIR": str(runs),
                                                           "PYTHONPATH": CLIENT_PATH,
                                                           **(env or {})}))
    return r


def launch(aero_launch, runs, *args, env=None):
    return subprocess.run([aero_launch, *args], text=True, capture_output=True,
                          env=clean_env({"AERO_RUNS_DIR": str(runs), **(env or {})}))


def test_ls_show_and_prefixes(aero_init, aero_launch, tmp_path):
    runs = tmp_path / "runs"
    assert record(aero_init, runs, "-s", "1").returncode == 0
    assert record(aero_init, runs, "-s", "1", code="raise SystemExit(3)").returncode == 3
    ids = sorted(os.listdir(runs), reverse=True)
    assert len(ids) == 2

    r = launch(aero_launch, runs, "runs", "ls")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["RUN", "STATE", "EXIT", "COMMIT", "COMMAND"]
    assert [line.split()[0] for line in lines[1:]] == ids

    listed = json.loads(launch(aero_launch, runs, "runs", "ls", "--json").stdout)
    by_id = {run["id"]: run for run in listed}
    assert sorted(by_id) == sorted(ids)
    states = sorted((run["state"], run.get("exit_status")) for run in listed)
    assert states == [("failed", 3), ("finished", 0)]

    finished = next(run["id"] for run in listed if run["state"] == "finished")
    shown = json.loads(launch(aero_launch, runs, "runs", "show", "--json", finished).stdout)
    assert shown["rows"] == 1 and shown["exit_status"] == 0
    assert shown["command"][0] == sys.executable
    assert shown["dir"] == str(runs / finished)
    # A unique prefix and a path name the same run.
    for name in (finished[:-4], str(runs / finished)):
        again = json.loads(launch(aero_launch, runs, "runs", "show", "--json", name).stdout)
        assert again["id"] == finished
    text = launch(aero_launch, runs, "runs", "show", finished).stdout
    assert "state        finished" in text


def test_unknown_and_ambiguous_runs(aero_init, aero_launch, tmp_path):
    runs = tmp_path / "runs"
    for _ in range(2):
        assert record(aero_init, runs).returncode == 0
    r = launch(aero_launch, runs, "runs", "show", "nope")
    assert r.returncode == 75 and "no run 'nope'" in r.stderr
    common = os.path.commonprefix(os.listdir(runs))
    r = launch(aero_launch, runs, "runs", "show", common)
    assert r.returncode == 75 and "more than one run" in r.stderr
    r = launch(aero_launch, runs, "runs", "show", str(tmp_path))
    assert r.returncode == 75 and "not a run directory" in r.stderr
    r = launch(aero_launch, runs, "runs", "frobnicate")
    assert r.returncode == 2


def test_diff_uses_the_manifest_diff(aero_init, aero_launch, tmp_path):
    runs = tmp_path / "runs"
    for seed in ("5", "5", "6"):
        assert record(aero_init, runs, "-s", seed).returncode == 0
    by_seed = {}
    for run_id in os.listdir(runs):
        with open(runs / run_id / "manifest.json") as f:
            by_seed.setdefault(json.load(f)["seed"]["base"], []).append(run_id)
    same, other = by_seed["5"], by_seed["6"][0]
    r = launch(aero_launch, runs, "runs", "diff", same[0], same[1])
    assert r.returncode == 0, r.stdout + r.stderr
    r = launch(aero_launch, runs, "runs", "diff", same[0], other)
    assert r.returncode == 1 and "seed" in r.stdout
    r = launch(aero_launch, runs, "runs", "diff", "--json", same[0], other)
    assert r.returncode == 1
    assert any(change["group"] == "seed" for change in json.loads(r.stdout)["changes"])


def test_sync_delivers_a_run_its_tracker_missed(aero_init, aero_launch, tmp_path):
    runs = tmp_path / "runs"
    double = start_wandb(tmp_path / "double")
    env = {"WANDB_BASE_URL": double.url, "WANDB_API_KEY": double.api_key,
           "AERO_TRACKER": "wandb", "AERO_TRACKER_TIMEOUT": "1s", "AERO_HTTP_TIMEOUT": "2s"}
    double.kill()
    try:
        r = record(aero_init, runs, env=env)
        assert r.returncode == 0, r.stderr
        run_id = os.listdir(runs)[0]
        double.start()
        r = launch(aero_launch, runs, "sync", run_id[:-2], env=env)
        assert r.returncode == 0, r.stderr
        run = next(iter(double.state()["runs"].values()))
        assert len(run["files"]["wandb-history.jsonl"]) == 1 and run["state"] == "finished"
        shown = json.loads(launch(aero_launch, runs, "runs", "show", "--json", run_id).stdout)
        assert shown["trackers"]["wandb"] == {"rows_delivered": 1, "finished": True}
    finally:
        double.kill()
