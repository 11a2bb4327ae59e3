"""aero-launch rerun against a real Docker engine and real Git: a
deterministic experiment run once, its repository and its input artifact
moved on, then run again from what its manifest recorded."""
import glob
import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from helpers.gitrepo import git, git_env, make_project
from test_launch_docker import engine  # noqa: F401 (the fixture: a private dockerd)

USAGE, NO_RUN, NO_COMMIT = 2, 75, 83

# Its metrics come only from the seeds aero-init exports and the input's bytes;
# "$1" scales them, so that a later commit that changes it changes them.
EXPERIMENT = """#!/bin/sh
set -e
aero-init artifact get data /tmp/data >/dev/null 2>&1
sum=$(cksum < /tmp/data/data.txt | cut -d' ' -f1)
score=$(( (sum % 100003) * %(scale)s + PYTHONHASHSEED %% 1000 ))
loss=$(awk -v s="$sum" -v k="$PL_GLOBAL_SEED" 'BEGIN { printf "%%.17g", (s %% 9973) / (k %% 89 + 7.5) }')
aero-init log score=$score
aero-init log score=$((score + 1)) loss=$loss base=$AERO_SEED
aero-init log --summary best=$loss
echo "score $score"
"""


def experiment(scale):
    return EXPERIMENT.replace("%(scale)s", str(scale)).replace("%%", "%")


@pytest.fixture
def project(engine, tmp_path, aero_init):  # noqa: F811
    env = git_env(tmp_path)
    (tmp_path / "tmp").mkdir()
    env.update({"DOCKER_HOST": engine["DOCKER_HOST"], "AERO_RUNS_DIR": str(tmp_path / "runs"),
                "AERO_CACHE_DIR": str(tmp_path / "cache"),
                "AERO_STORE": "file://" + str(tmp_path / "store"),
                "TMPDIR": str(tmp_path / "tmp")})
    repo = make_project(tmp_path, env, {
        "Dockerfile": "FROM aeromancy/base\nCOPY . /app\nWORKDIR /app\n",
        "exp.sh": (experiment(3), 0o755)})
    put_data(aero_init, env, tmp_path, "first version of the data\n")
    return repo, env


def put_data(aero_init, env, tmp_path, text):
    src = tmp_path / ("data-%d" % len(text))
    src.mkdir()
    (src / "data.txt").write_text(text)
    r = subprocess.run([aero_init, "artifact", "put", "--json", "data", str(src)], env=env,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def launch(aero_launch, repo, env, *opts):
    return subprocess.run([aero_launch, "run", "-q", "-C", repo, "--network", "none", *opts,
                           "--", "./exp.sh"], env=env, capture_output=True, timeout=180)


def rerun(aero_launch, repo, env, run, *opts, command=()):
    return subprocess.run([aero_launch, "rerun", "-q", "-C", repo, "--network", "none", *opts,
                           run, *(["--", *command] if command else [])], env=env,
                          capture_output=True, text=True, timeout=300)


def run_dirs(env):
    return sorted(glob.glob(os.path.join(env["AERO_RUNS_DIR"], "*")))


def manifest(run_dir):
    with open(os.path.join(run_dir, "manifest.json")) as f:
        return json.load(f)


def metric_lines(run_dir):
    """metrics.jsonl as written, less the times that differ from run to run."""
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return [re.sub(r'"_(timestamp|runtime)":[0-9.e+-]+,?', "", line) for line in f]


def original_then_move_on(aero_launch, aero_init, project, tmp_path, *opts):
    """The run, then a new commit (that changes the metrics) and a new version
    of its input: running HEAD with the latest data would not reproduce it."""
    repo, env = project
    r = launch(aero_launch, repo, env, *opts)
    assert r.returncode == 0, r.stderr
    [old] = run_dirs(env)
    with open(os.path.join(repo, "exp.sh"), "w") as f:
        f.write(experiment(5))
    git(repo, "commit", "-q", "-am", "scale 5", env=env)
    put_data(aero_init, env, tmp_path, "second version of the data, which differs\n")
    return old


def no_worktree_left(repo, env):
    worktrees = git(repo, "worktree", "list", env=env).stdout.splitlines()
    assert len(worktrees) == 1, worktrees
    assert git(repo, "branch", "--list", "aeromancy/*", env=env).stdout == ""
    assert os.listdir(env["TMPDIR"]) == []


def test_rerun_runs_the_old_commit_seed_and_inputs(aero_launch, aero_init, project, tmp_path):
    repo, env = project
    old = original_then_move_on(aero_launch, aero_init, project, tmp_path)
    old_manifest = manifest(old)
    assert old_manifest["seed"]["source"] == "random"  # a 64-bit base: AERO_SEED carries it
    head = git(repo, "rev-parse", "HEAD", env=env).stdout.strip()
    assert head != old_manifest["git"]["commit"]

    r = rerun(aero_launch, repo, env, os.path.basename(old)[:-3])  # a unique prefix
    assert r.returncode == 0, r.stdout + r.stderr
    [new] = [d for d in run_dirs(env) if d != old]
    new_manifest = manifest(new)
    # The run's own output, then the report.
    assert r.stdout.startswith("score ")
    assert "\nrerun %s of %s\n" % (os.path.basename(new), old_manifest["run"]["id"]) in r.stdout
    assert new_manifest["git"]["commit"] == old_manifest["git"]["commit"]
    assert [(i["name"], i["version"], i["digest"]) for i in new_manifest["inputs"]] == \
        [(i["name"], i["version"], i["digest"]) for i in old_manifest["inputs"]] != []
    assert new_manifest["seed"]["base"] == old_manifest["seed"]["base"]
    assert new_manifest["image"] == old_manifest["image"]
    assert metric_lines(new) == metric_lines(old)
    assert "image: reused " + old_manifest["image"]["id"] in r.stdout
    assert re.search(r"^environment: .* are equivalent$", r.stdout, re.M), r.stdout
    assert "result: the final metrics are identical" in r.stdout
    for key in ("score", "loss", "base", "summary.best"):
        assert re.search(r"^  %s +same +\S+$" % re.escape(key), r.stdout, re.M), r.stdout
    no_worktree_left(repo, env)


def test_rerun_keeps_the_runs_user_capabilities_and_hermetic_filter(aero_launch, aero_init,
                                                                    project, tmp_path):
    repo, env = project
    r = subprocess.run([aero_launch, "run", "-q", "-C", repo, "--network", "none", "--user",
                        "1000:1000", "--caps", "cap_net_bind_service", "--hermetic", "--",
                        "sh", "-c", "id -u"], env=env, capture_output=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"1000\n"
    [old] = run_dirs(env)
    r = rerun(aero_launch, repo, env, os.path.basename(old))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("1000\n"), r.stdout
    [new] = [d for d in run_dirs(env) if d != old]
    before, after = manifest(old)["run"]["privileges"], manifest(new)["run"]["privileges"]
    assert before["uid"] == 1000 and before["hermetic"] is True
    assert before["capabilities"]["effective"] == ["cap_net_bind_service"]
    for key in ("uid", "gid", "groups", "capabilities", "hermetic", "no_new_privs", "seccomp"):
        assert after[key] == before[key], key


def test_rerun_rebuilds_an_image_the_engine_lost(aero_launch, aero_init, project, tmp_path):
    repo, env = project
    old = original_then_move_on(aero_launch, aero_init, project, tmp_path, "--seed", "42")
    image = manifest(old)["image"]
    subprocess.run(["docker", "rmi", image["name"]], env=env, check=True, capture_output=True)

    r = rerun(aero_launch, repo, env, old, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout)
    [new] = [d for d in run_dirs(env) if d != old]
    rebuilt = manifest(new)["image"]
    assert result["run"] == os.path.basename(new) and result["of"] == manifest(old)["run"]["id"]
    assert rebuilt["name"] == image["name"]  # the same NAME:SHORT-COMMIT
    assert result["image"] == ("rebuilt-same" if rebuilt["id"] == image["id"]
                               else "rebuilt-different")
    # The build records its time in a label: a new image, which the diff names.
    assert result["image"] == "rebuilt-different"
    assert result["environment_changes"] >= 1
    assert result["metrics_identical"] is True and result["exit_status"] == 0
    assert all(m["same"] for m in result["metrics"].values()) and "score" in result["metrics"]
    assert manifest(new)["seed"]["base"] == "42"
    assert metric_lines(new) == metric_lines(old)
    assert "score " in r.stderr  # the run's own output, kept off the JSON
    no_worktree_left(repo, env)


def test_a_commit_not_in_the_repository_is_refused(aero_launch, aero_init, project, tmp_path):
    repo, env = project
    r = launch(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    [old] = run_dirs(env)
    fake = tmp_path / "elsewhere" / "fake-run"
    shutil.copytree(old, fake)
    doc = manifest(fake)
    doc["git"]["commit"] = "0123456789abcdef0123456789abcdef01234567"
    (fake / "manifest.json").write_text(json.dumps(doc))
    r = rerun(aero_launch, repo, env, str(fake))
    assert r.returncode == NO_COMMIT, r.stderr
    assert "commit 0123456789ab of run %s is not in the repository" % doc["run"]["id"] in r.stderr
    assert "fetch" in r.stderr
    # A checkout of another project has none of this one's commits.
    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", env=env)
    git(other, "commit", "-q", "--allow-empty", "-m", "unrelated", env=env)
    r = rerun(aero_launch, str(other), env, os.path.basename(old))
    assert r.returncode == NO_COMMIT, r.stderr
    assert "is not in the repository at %s" % other in r.stderr
    assert run_dirs(env) == [old], "something ran"
    for checkout in (repo, str(other)):
        no_worktree_left(checkout, env)
    r = rerun(aero_launch, repo, env, "no-such-run")
    assert r.returncode == NO_RUN and "no run 'no-such-run'" in r.stderr
    # A dev run has no commit; a recorded secret cannot be given back.
    doc = manifest(old)
    doc["run"]["dev"] = True
    (fake / "manifest.json").write_text(json.dumps(doc))
    r = rerun(aero_launch, repo, env, str(fake))
    assert r.returncode == NO_COMMIT and "is a dev run" in r.stderr, r.stderr
    doc["run"]["dev"] = False
    doc["run"]["argv"] = ["./exp.sh", "--api-key=<redacted>"]
    (fake / "manifest.json").write_text(json.dumps(doc))
    r = rerun(aero_launch, repo, env, str(fake))
    assert r.returncode == USAGE, r.stderr
    assert "held a secret" in r.stderr and "-- COMMAND" in r.stderr
    assert run_dirs(env) == [old]
    no_worktree_left(repo, env)


def test_worktree_and_branch_are_removed_unless_kept(aero_launch, aero_init, project, tmp_path):
    repo, env = project
    r = launch(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    [old] = run_dirs(env)
    # A command after '--' replaces the recorded one.
    r = rerun(aero_launch, repo, env, old, command=("sh", "./exp.sh"))
    assert r.returncode == 0, r.stdout + r.stderr
    [new] = [d for d in run_dirs(env) if d != old]
    assert manifest(new)["run"]["argv"] == ["sh", "./exp.sh"]
    no_worktree_left(repo, env)
    r = rerun(aero_launch, repo, env, old, "--keep-worktree")
    assert r.returncode == 0, r.stdout + r.stderr
    [kept] = re.findall(r"kept the worktree (\S+) \(branch (\S+)\)", r.stderr)
    assert os.path.exists(os.path.join(kept[0], "exp.sh"))
    assert git(repo, "branch", "--list", kept[1], env=env).stdout.strip() == kept[1]
    worktrees = git(repo, "worktree", "list", "--porcelain", env=env).stdout
    assert "worktree " + kept[0] in worktrees and "detached" in worktrees
    git(repo, "worktree", "remove", kept[0], env=env)
    git(repo, "branch", "-D", kept[1], env=env)
    shutil.rmtree(os.path.dirname(kept[0]))
    no_worktree_left(repo, env)


def test_a_signal_reaches_the_run_and_the_worktree_still_goes(aero_launch, project):
    """SIGTERM sent to rerun alone is passed on to the run (and by it to the
    experiment); rerun outlives it, removes the worktree and exits with the
    run's status."""
    repo, env = project
    r = launch(aero_launch, repo, env)
    assert r.returncode == 0, r.stderr
    [old] = run_dirs(env)
    proc = subprocess.Popen([aero_launch, "rerun", "-q", "-C", repo, "--network", "none", old,
                             "--", "sh", "-c", "trap 'echo got TERM; exit 7' TERM; echo ready; "
                             "while :; do sleep 0.1; done"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 7, err
    assert out.startswith(b"got TERM\n"), out
    no_worktree_left(repo, env)
