"""aero-launch run --dev: no Git checks, no container; the command runs under
aero-init on the host and the run is recorded as a dev run."""
import glob
import json
import os
import subprocess

from helpers.gitrepo import git, git_env, make_project


def test_dev_run_is_recorded_with_the_same_settings(aero_launch, aero_init, tmp_path):
    env = git_env(tmp_path)
    env["AERO_RUNS_DIR"] = str(tmp_path / "runs")
    repo = make_project(tmp_path, env)
    with open(os.path.join(repo, "dirty.py"), "w") as f:
        f.write("a dev run does not mind\n")
    r = subprocess.run([aero_launch, "run", "--dev", "--init", aero_init, "-C", repo,
                        "--seed", "7", "--", "sh", "-c", "echo $AERO_DEV $AERO_SEED; exit 3"],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stderr
    assert r.stdout == "1 7\n"
    assert "dev run" in r.stderr and "not reproducible" in r.stderr
    [run_dir] = glob.glob(str(tmp_path / "runs" / "*"))
    manifest = json.load(open(os.path.join(run_dir, "manifest.json")))
    assert manifest["run"]["dev"] is True
    assert manifest["git"]["commit"] == git(repo, "rev-parse", "HEAD", env=env).stdout.strip()
    assert "absent" in manifest["image"]


def test_dev_run_needs_no_repository(aero_launch, aero_init, tmp_path):
    env = git_env(tmp_path)
    env["AERO_RUNS_DIR"] = str(tmp_path / "runs")
    r = subprocess.run([aero_launch, "run", "--dev", "--init", aero_init, "-C", str(tmp_path),
                        "--", "true"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    [run_dir] = glob.glob(str(tmp_path / "runs" / "*"))
    assert "absent" in json.load(open(os.path.join(run_dir, "manifest.json")))["git"]


def test_run_usage_errors(aero_launch):
    for args in (["run"], ["run", "--gpus", "two", "--", "true"],
                 ["run", "--shm-size", "lots", "--", "true"], ["run", "--bogus"]):
        r = subprocess.run([aero_launch, *args], capture_output=True, text=True)
        assert r.returncode == 2, args


def test_man_page_documents_every_launch_option(aero_launch):
    import re
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    man = open(os.path.join(root, "man", "aero-launch.1")).read().replace("\\-", "-")
    options = set()
    for cmd in (["run"], ["check"], ["context"], ["push"], ["k8s", "job"], ["runs"], ["sync"],
                ["rerun"],
                []):
        text = subprocess.run([aero_launch, *cmd, "--help"], capture_output=True,
                              text=True).stdout
        options |= set(re.findall(r"--[a-z][a-z-]+", text)) - {"--"}
    assert {"--image", "--secret", "--runs-pvc", "--gpus", "--json", "--tracker",
            "--keep-worktree"} <= options
    assert len(options) >= 18
    for opt in options:
        assert opt in man, opt
