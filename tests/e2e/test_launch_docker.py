"""aero-launch run against a real Docker engine started for these tests: a
sample project repository made with git, its image built from the commit
FROM a base image with the static aero-init, run with aero-init as PID 1."""
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from helpers.dockerd import private_dockerd
from helpers.gitrepo import git, git_env, make_project

DIRTY, ENGINE, BUILD, BASE_IMAGE, GPU = 65, 68, 69, 70, 71

EXPERIMENT = """#!/bin/sh
# out, err and status as asked; "pid1" prints PID 1's command line.
case "$1" in
pid1) tr '\\0' ' ' < /proc/1/cmdline; echo; exit 0 ;;
big) head -c 3000000 /dev/zero | tr '\\0' 'x'; exit 0 ;;
wait) trap 'echo got INT; exit 5' INT; echo ready; while :; do sleep 0.1; done ;;
kill) kill -9 $$ ;;
creds) test "$WANDB_API_KEY" = "s3cr3t-value" && echo "key passed"; exit 0 ;;
env) env | grep '^AERO_' | sort; exit 0 ;;
artifacts) aero-init artifact put --json model /app/exp.sh && aero-init artifact get --json "$2" /tmp/got && test -s /tmp/got/exp.sh; exit $? ;;
privs) id; grep -E '^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status; exit 0 ;;
esac
echo "$1"; echo "$2" >&2; exit "$3"
"""


@pytest.fixture(scope="module")
def engine():
    aero_init = os.environ.get("AERO_INIT_STATIC")
    if not aero_init:
        pytest.skip("the Docker tests run the static aero-init ('make test' sets "
                    "AERO_INIT_STATIC)")
    with private_dockerd(os.environ.get("AERO_TEST_ROOTFS"), "debian:bookworm-slim") as (env, work):
        base = os.path.join(work, "base")
        os.makedirs(base)
        shutil.copy(aero_init, os.path.join(base, "aero-init"))
        with open(os.path.join(base, "Dockerfile"), "w") as f:
            f.write("FROM debian:bookworm-slim\nCOPY aero-init /usr/bin/aero-init\n"
                    'ENTRYPOINT ["/usr/bin/aero-init", "--"]\n')
        subprocess.run(["docker", "build", "-q", "-t", "aeromancy/base", base], env=env,
                       check=True, capture_output=True)
        yield env


@pytest.fixture
def project(engine, tmp_path):
    env = git_env(tmp_path)
    env.update({"DOCKER_HOST": engine["DOCKER_HOST"], "AERO_RUNS_DIR": str(tmp_path / "runs"),
                "AERO_CACHE_DIR": str(tmp_path / "cache")})
    repo = make_project(tmp_path, env, {
        "Dockerfile": "FROM aeromancy/base\nCOPY . /app\nWORKDIR /app\n",
        "exp.sh": (EXPERIMENT, 0o755), ".gitignore": "*.log\n"})
    return repo, env


def launch(aero_launch, repo, env, *cmd, opts=(), timeout=180):
    return subprocess.run([aero_launch, "run", "-q", "-C", repo, "--network", "none", *opts,
                           "--", *cmd], env=env, capture_output=True, timeout=timeout)


def runs(env):
    return sorted(glob.glob(os.path.join(env["AERO_RUNS_DIR"], "*")))


def test_dirty_tree_is_refused_before_any_build(aero_launch, project):
    repo, env = project
    with open(os.path.join(repo, "notes.txt"), "w") as f:
        f.write("uncommitted\n")
    r = launch(aero_launch, repo, env, "./exp.sh", "a", "b", "0")
    assert r.returncode == DIRTY, r.stderr
    assert b"untracked    notes.txt" in r.stderr
    images = subprocess.run(["docker", "images", "-q", "project"], env=env, capture_output=True)
    assert images.stdout == b"" and runs(env) == []


def test_clean_run_records_commit_and_image(aero_launch, project):
    repo, env = project
    with open(os.path.join(repo, "debug.log"), "w") as f:
        f.write("ignored, and never in the image\n")
    r = launch(aero_launch, repo, env, "./exp.sh", "to stdout", "to stderr", "0")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"to stdout\n"
    assert r.stderr.endswith(b"to stderr\n"), r.stderr
    head = git(repo, "rev-parse", "HEAD", env=env).stdout.strip()
    tag = "project:" + head[:12]
    inspect = json.loads(subprocess.run(["docker", "image", "inspect", tag], env=env,
                                        check=True, capture_output=True).stdout)[0]
    labels = inspect["Config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == head
    assert labels["org.opencontainers.image.source"].endswith("origin.git")
    assert labels["org.opencontainers.image.title"] == "project"
    assert "org.opencontainers.image.created" in labels
    [run_dir] = runs(env)
    manifest = json.load(open(os.path.join(run_dir, "manifest.json")))
    assert manifest["git"] == {"commit": head, "branch": "main", "pushed": True,
                               "remote": labels["org.opencontainers.image.source"],
                               "message": "First experiment\n\nWith a body.\n"}
    assert manifest["image"] == {"id": inspect["Id"], "name": tag}
    assert manifest["run"]["dev"] is False
    assert "AERO_GIT_COMMIT" not in manifest["env"]
    ls = subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "ls",
                         tag, "/app"], env=env, capture_output=True, text=True)
    assert sorted(ls.stdout.split()) == ["Dockerfile", "exp.sh"]
    left = subprocess.run(["docker", "ps", "-aq"], env=env, capture_output=True)
    assert left.stdout == b"", "the container was not removed"


def test_aero_init_is_pid_1_and_settings_arrive(aero_launch, project):
    repo, env = project
    r = launch(aero_launch, repo, env, "./exp.sh", "pid1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().startswith("/usr/bin/aero-init -- ./exp.sh pid1")
    r = launch(aero_launch, repo, env, "./exp.sh", "env", opts=("--seed", "42", "-e", "X=1"))
    settings = dict(line.split("=", 1) for line in r.stdout.decode().splitlines())
    [run_dir] = [d for d in runs(env) if os.path.basename(d) == settings["AERO_RUN_ID"]]
    assert settings["AERO_RUN_DIR"] == "/aeromancy/run"
    assert settings["AERO_SEED"] == "42" and settings["AERO_GIT_PUSHED"] == "1"
    assert settings["AERO_IMAGE_ID"].startswith("sha256:")


def test_user_caps_and_hermetic_reach_the_experiment(aero_launch, project):
    """aero-launch passes them on as AERO_*; cap_sys_ptrace, which Docker does
    not grant by default, is added to the container so that aero-init has it
    to give. Under Docker's own seccomp profile, the hermetic filter stacks."""
    repo, env = project
    r = launch(aero_launch, repo, env, "./exp.sh", "privs",
               opts=("--user", "nobody", "--caps", "cap_net_bind_service,cap_sys_ptrace",
                     "--hermetic"))
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n")
    caps = "%016x" % ((1 << 10) | (1 << 19))
    for line in ("CapEff:\t" + caps, "CapBnd:\t" + caps, "CapAmb:\t" + caps, "NoNewPrivs:\t1",
                 "Seccomp:\t2"):
        assert line + "\n" in out, out
    assert b"hermetic run" in r.stderr
    [run_dir] = runs(env)
    privileges = json.load(open(os.path.join(run_dir, "manifest.json")))["run"]["privileges"]
    assert privileges["user"] == "nobody" and privileges["hermetic"] is True
    assert privileges["capabilities"]["ambient"] == ["cap_net_bind_service", "cap_sys_ptrace"]


@pytest.mark.parametrize("status", [3, 0, 42])
def test_exit_status_comes_back(aero_launch, project, status):
    repo, env = project
    r = launch(aero_launch, repo, env, "./exp.sh", "o", "e", str(status))
    assert r.returncode == status, r.stderr


def test_sigkill_comes_back_as_137(aero_launch, project):
    repo, env = project
    r = launch(aero_launch, repo, env, "./exp.sh", "kill")
    assert r.returncode == 137, r.stderr


def test_large_output_arrives_intact(aero_launch, project):
    repo, env = project
    r = launch(aero_launch, repo, env, "./exp.sh", "big")
    assert r.returncode == 0
    assert len(r.stdout) == 3000000 and set(r.stdout) == {ord("x")}, r.stderr
    assert hashlib.sha256(r.stdout).hexdigest() == hashlib.sha256(b"x" * 3000000).hexdigest()


def test_ctrl_c_stops_the_run(aero_launch, project):
    repo, env = project
    proc = subprocess.Popen([aero_launch, "run", "-q", "-C", repo, "--network", "none", "--",
                             "./exp.sh", "wait"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 5, err
        assert out == b"got INT\n"
    finally:
        proc.kill()
    left = subprocess.run(["docker", "ps", "-aq"], env=env, capture_output=True)
    assert left.stdout == b""


def test_credentials_pass_by_name_and_stay_off_disk(aero_launch, project):
    repo, env = project
    env = {**env, "WANDB_API_KEY": "s3cr3t-value"}
    r = launch(aero_launch, repo, env, "./exp.sh", "creds")
    assert r.returncode == 0 and r.stdout == b"key passed\n", r.stderr
    assert b"s3cr3t-value" not in r.stderr
    for path in glob.glob(os.path.join(env["AERO_RUNS_DIR"], "*", "*")):
        assert b"s3cr3t-value" not in open(path, "rb").read(), path


def test_no_secret_in_the_image_or_the_container(aero_launch, project):
    """Canary credentials in the host's environment and a token in the remote
    URL: the image (labels, config, history) holds none of them; the kept
    container holds the forwarded credentials in its Env only, as the engine
    must to start it, and nothing else."""
    repo, env = project
    canaries = {"WANDB_API_KEY": "canary-wandb-d0c4e7", "AWS_SECRET_ACCESS_KEY": "canary-aws-41f2",
                "MLFLOW_TRACKING_PASSWORD": "canary-mlflow-8b9a", "HF_TOKEN": "canary-hf-77e1"}
    git(repo, "remote", "set-url", "origin",
        "https://oauth2:canary-remote-5a6b@git.example/g/project.git", env=env)
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD", env=env)
    env = {**env, **canaries}
    before = set(subprocess.run(["docker", "ps", "-aq"], env=env, capture_output=True,
                                text=True).stdout.split())
    r = launch(aero_launch, repo, env, "./exp.sh", "a", "b", "0", "--api-key=canary-argv-3c3c",
               opts=("--keep",))
    assert r.returncode == 0, r.stderr
    [container] = set(subprocess.run(["docker", "ps", "-aq"], env=env, capture_output=True,
                                     text=True).stdout.split()) - before
    try:
        every = list(canaries.values()) + ["canary-remote-5a6b"]
        head = git(repo, "rev-parse", "HEAD", env=env).stdout.strip()
        tag = "project:" + head[:12]
        image = subprocess.run(["docker", "image", "inspect", tag], env=env, check=True,
                               capture_output=True, text=True).stdout
        history = subprocess.run(["docker", "history", "--no-trunc", tag], env=env, check=True,
                                 capture_output=True, text=True).stdout
        labels = json.loads(image)[0]["Config"]["Labels"]
        assert labels["org.opencontainers.image.source"] == "https://git.example/g/project.git"
        for value in every:
            assert value not in image and value not in history, value
        inspect = json.loads(subprocess.run(["docker", "inspect", container], env=env,
                                            check=True, capture_output=True,
                                            text=True).stdout)[0]
        forwarded = ("WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY", "MLFLOW_TRACKING_PASSWORD")
        config_env = inspect["Config"].pop("Env")
        for value in every:
            assert value not in json.dumps(inspect), value
        for name, value in canaries.items():
            holders = [e for e in config_env if value in e]
            assert holders == ([name + "=" + value] if name in forwarded else []), holders
        assert "canary-argv-3c3c" not in json.dumps(inspect["Config"]["Labels"])
        assert "canary-remote-5a6b" not in json.dumps(config_env)
        for path in glob.glob(os.path.join(env["AERO_RUNS_DIR"], "*", "*")):
            data = open(path, "rb").read()
            for value in every + ["canary-argv-3c3c"]:
                assert value.encode() not in data, (value, path)
    finally:
        subprocess.run(["docker", "rm", "-f", container], env=env, capture_output=True)


def test_engine_unreachable(aero_launch, project, tmp_path):
    repo, env = project
    env = {**env, "DOCKER_HOST": "unix://%s/none.sock" % tmp_path}
    r = launch(aero_launch, repo, env, "true")
    assert r.returncode == ENGINE
    assert b"cannot reach the Docker engine" in r.stderr and b"dockerd" in r.stderr


def commit(repo, env, path, text):
    with open(os.path.join(repo, path), "w") as f:
        f.write(text)
    git(repo, "commit", "-q", "-am", "change " + path, env=env)


def test_failed_build_names_the_step(aero_launch, project):
    repo, env = project
    commit(repo, env, "Dockerfile", "FROM aeromancy/base\nRUN echo building; exit 4\n")
    r = launch(aero_launch, repo, env, "true", opts=("--allow-unpushed",))
    assert r.returncode == BUILD, r.stderr
    # The engine counts the labels as steps after the Dockerfile's own.
    assert re.search(rb"failed at 'Step 2/\d+ : RUN echo building; exit 4'", r.stderr)
    assert b"returned a non-zero code: 4" in r.stderr


def test_build_network_is_the_build_steps_network(aero_launch, project):
    """--build-network host: the RUN steps share the host's network namespace (the
    test engine's own default, with no bridge, gives them a private one)."""
    repo, env = project
    commit(repo, env, "Dockerfile", "FROM aeromancy/base\n"
           "RUN readlink /proc/self/ns/net > /build-netns\n")
    r = launch(aero_launch, repo, env, "cat", "/build-netns",
               opts=("--allow-unpushed", "--build-network", "host"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().strip() == os.readlink("/proc/self/ns/net")
    commit(repo, env, "Dockerfile", "FROM aeromancy/base\n"
           "RUN readlink /proc/self/ns/net > /build-netns; echo default\n")
    r = launch(aero_launch, repo, env, "cat", "/build-netns", opts=("--allow-unpushed",))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().strip() not in ("", os.readlink("/proc/self/ns/net"))


def test_missing_base_image(aero_launch, project):
    repo, env = project
    commit(repo, env, "Dockerfile", "FROM aeromancy-test/no-such-base:1\n")
    r = launch(aero_launch, repo, env, "true", opts=("--allow-unpushed",))
    assert r.returncode == BASE_IMAGE, r.stderr
    assert b"base image is missing" in r.stderr


def test_no_gpu_runtime(aero_launch, project):
    repo, env = project
    r = launch(aero_launch, repo, env, "true", opts=("--gpus", "all"))
    assert r.returncode == GPU, r.stderr
    assert b"no GPU runtime" in r.stderr and b"nvidia-container-toolkit" in r.stderr
    left = subprocess.run(["docker", "ps", "-aq"], env=env, capture_output=True)
    assert left.stdout == b""


def test_build_only_prints_the_image_and_runs_nothing(aero_launch, project):
    repo, env = project
    r = subprocess.run([aero_launch, "run", "-q", "-C", repo, "--build-only"], env=env,
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    head = git(repo, "rev-parse", "HEAD", env=env).stdout.strip()
    inspect = json.loads(subprocess.run(["docker", "image", "inspect", "project:" + head[:12]],
                                        env=env, check=True, capture_output=True).stdout)[0]
    assert r.stdout == inspect["Id"] + "\n"
    assert runs(env) == []
    left = subprocess.run(["docker", "ps", "-aq"], env=env, capture_output=True)
    assert left.stdout == b""


def test_build_only_takes_no_command(aero_launch, tmp_path):
    for extra, why in ((["--", "true"], "runs no command; drop 'true'"),
                       (["--dev"], "--dev runs without one")):
        r = subprocess.run([aero_launch, "run", "-C", str(tmp_path), "--build-only", *extra],
                           capture_output=True, text=True)
        assert r.returncode == 2 and why in r.stderr, (extra, r.stderr)


def test_artifacts_through_the_mounted_store(aero_launch, aero_init, project, tmp_path):
    repo, env = project
    store = tmp_path / "store"
    env = dict(env, AERO_STORE="file://" + str(store))
    # v1 from the host, then the run puts v2 (its exp.sh differs) and gets
    # model:latest, unless told otherwise.
    src = tmp_path / "v1"
    src.mkdir()
    (src / "exp.sh").write_text("#!/bin/sh\necho v1\n")
    r = subprocess.run([aero_init, "artifact", "put", "model", str(src)], env=env,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r = launch(aero_launch, repo, env, "./exp.sh", "artifacts", "model")
    assert r.returncode == 0, r.stderr
    results = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert [(x["op"], x["version"]) for x in results] == [("put", 2), ("get", 2)]
    assert (store / "names" / "model" / "v2.json").exists()
    [run_dir] = runs(env)
    manifest = json.load(open(os.path.join(run_dir, "manifest.json")))
    assert [o["version"] for o in manifest["outputs"]] == [2]
    assert [i["version"] for i in manifest["inputs"]] == [2]
    # --artifact-override: the run asks for model:latest and gets v1, and says so.
    r = launch(aero_launch, repo, env, "./exp.sh", "artifacts", "model",
               opts=("--artifact-override", "model=v1"))
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.decode().splitlines()[-1])
    assert got["op"] == "get" and got["version"] == 1
    assert b"override" in r.stderr.lower(), r.stderr
