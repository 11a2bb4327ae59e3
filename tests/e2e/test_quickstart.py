"""examples/quickstart.sh, the README's first command: the example project run
from a fresh Git commit, in a container when a Docker engine answers, else as
a dev run with a note that says so."""
import glob
import json
import os
import re
import subprocess

import pytest

from helpers.dockerd import private_dockerd
from helpers.gitrepo import git_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "examples", "quickstart.sh")


def quickstart(aero_launch, env, *args, timeout=120):
    return subprocess.run([SCRIPT, *args], env={**env, "AERO_LAUNCH": aero_launch},
                          capture_output=True, text=True, timeout=timeout)


def setting(tmp_path, **extra):
    """A clean environment whose runs, cache and temporary files stay in tmp_path."""
    env = git_env(tmp_path)
    for name in ("runs", "cache", "tmp"):
        (tmp_path / name).mkdir()
    env.update({"AERO_RUNS_DIR": str(tmp_path / "runs"), "AERO_CACHE_DIR": str(tmp_path / "cache"),
                "TMPDIR": str(tmp_path / "tmp")})
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def the_run(tmp_path, stderr):
    [run_dir] = glob.glob(str(tmp_path / "runs" / "*"))
    run_id = os.path.basename(run_dir)
    assert "recorded in %s\n" % run_dir in stderr
    assert re.search(r"runs show %s\b" % run_id, stderr), stderr
    assert os.listdir(tmp_path / "tmp") == [], "the temporary repository was left behind"
    return run_dir, json.load(open(os.path.join(run_dir, "manifest.json")))


def test_without_an_engine_it_is_a_dev_run_with_a_note(aero_launch, tmp_path):
    env = setting(tmp_path, DOCKER_HOST="unix:///nonexistent")
    r = quickstart(aero_launch, env)
    assert r.returncode == 0, r.stderr
    assert "epoch  20" in r.stdout
    note = r.stderr.splitlines()[0]
    assert note.startswith("quickstart: no Docker engine answers at unix:///nonexistent")
    assert "sudo dockerd &" in note and "dev run" in note and "not reproducible" in note
    run_dir, manifest = the_run(tmp_path, r.stderr)
    assert manifest["run"]["dev"] is True
    assert re.fullmatch(r"[0-9a-f]{40}", manifest["git"]["commit"])
    metrics = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
    assert [m["_step"] for m in metrics] == list(range(1, 21)) and "loss" in metrics[0]
    assert json.load(open(os.path.join(run_dir, "summary.json")))["final_loss"] < 0.1


def test_the_experiment_status_comes_back(aero_launch, tmp_path):
    env = setting(tmp_path, DOCKER_HOST="unix:///nonexistent")
    r = quickstart(aero_launch, env, "--epochs", "many")
    assert r.returncode == 2, r.stderr  # argparse's
    assert "argument --epochs" in r.stderr and "exited 2" in r.stderr


@pytest.fixture(scope="module")
def engine():
    """A private engine with aeromancy/base built as `make base-image` builds it,
    over the debootstrapped tree (which has python3) as debian:bookworm-slim."""
    aero_init = os.environ.get("AERO_INIT_STATIC")
    if not aero_init:
        pytest.skip("the Docker tests run the static aero-init ('make test' sets "
                    "AERO_INIT_STATIC)")
    with private_dockerd(os.environ.get("AERO_TEST_ROOTFS"), "debian:bookworm-slim") as (env, _):
        r = subprocess.run([os.path.join(ROOT, "mk", "base-image.sh"),
                            "AERO_INIT_BINARY=" + aero_init], env=env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        yield env


def test_with_an_engine_it_builds_the_commit_and_runs_it_in_a_container(aero_launch, engine,
                                                                        tmp_path):
    env = setting(tmp_path, DOCKER_HOST=engine["DOCKER_HOST"])
    r = quickstart(aero_launch, env, "--epochs", "3", timeout=600)
    assert r.returncode == 0, r.stderr
    assert "epoch   3" in r.stdout
    assert "dev run" not in r.stderr
    # The engine has no bridge, so the script lent the build the host's network
    # and the Dockerfile's apt-get reached the mirror (as test_image's build does).
    assert "apt-get update" in r.stderr and "Failed to fetch" not in r.stderr
    run_dir, manifest = the_run(tmp_path, r.stderr)
    assert manifest["run"]["dev"] is False
    commit = manifest["git"]["commit"]
    assert re.fullmatch(r"[0-9a-f]{40}", commit) and manifest["git"]["branch"] == "main"
    tag = "aeromancy-example:" + commit[:12]
    inspect = json.loads(subprocess.run(["docker", "image", "inspect", tag], env=engine,
                                        check=True, capture_output=True).stdout)[0]
    assert manifest["image"] == {"id": inspect["Id"], "name": tag}
    assert inspect["Config"]["Labels"]["org.opencontainers.image.revision"] == commit
    assert len(open(os.path.join(run_dir, "metrics.jsonl")).readlines()) == 3
    left = subprocess.run(["docker", "ps", "-aq"], env=engine, capture_output=True)
    assert left.stdout == b"", "the container was not removed"
