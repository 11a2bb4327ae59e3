"""`aero-launch push` against a real dockerd and a real registry (Debian's
docker-registry on a loopback port), with and without htpasswd users."""
import base64
import contextlib
import io
import json
import os
import socket
import subprocess
import tarfile
import threading

import pytest
import yaml

import engines

IMAGE = "aeromancy-test/tiny:latest"
USERS = {"alice": "s3cret-pass"}
# aero-launch's exit statuses (host/status.h, aero-launch(1)).
USAGE, ENGINE, IMAGE_MISSING, DENIED, INTERNAL = 2, 68, 70, 72, 74


def tiny_image_tar(aero_init):
    """An image with one file, so pushes are quick: the static aero-init."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        tar.add(aero_init, arcname="aero-init")
    return out.getvalue()


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    aero_init = os.environ.get("AERO_INIT_STATIC") or os.environ.get("AERO_INIT")
    work = tmp_path_factory.mktemp("push")
    with engines.dockerd() as env:
        subprocess.run(["docker", "import", "-", IMAGE], input=tiny_image_tar(aero_init),
                       env=env, check=True, capture_output=True)
        open_registry = engines.Registry(str(work / "open"))
        locked_registry = engines.Registry(str(work / "locked"), users=USERS)
        try:
            yield env, open_registry, locked_registry
        finally:
            open_registry.close()
            locked_registry.close()


@pytest.fixture
def push(aero_launch, engine, tmp_path):
    env, _, _ = engine
    base = {k: v for k, v in env.items() if not k.startswith(("AERO_", "DOCKER_AUTH", "DOCKER_CONFIG"))}
    base.update({"AERO_RUNS_DIR": str(tmp_path / "runs"), "HOME": str(tmp_path)})

    def _push(*args, extra=None):
        return subprocess.run([aero_launch, "push", *args], env={**base, **(extra or {})},
                              capture_output=True, text=True, timeout=120)
    _push.env = base
    _push.aero_launch = aero_launch
    _push.runs = tmp_path / "runs"
    return _push


def auth_config(user, password, host):
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return json.dumps({"auths": {host: {"auth": token}}})


def test_push_prints_and_records_the_registrys_digest(push, engine, aero_launch):
    env, registry, _ = engine
    target = "%s/team/tiny:v1" % registry.host
    r = push("--image", IMAGE, target)
    assert r.returncode == 0, r.stderr
    digest = registry.manifest_digest("team/tiny", "v1")
    assert digest.startswith("sha256:")
    assert r.stdout == "%s/team/tiny@%s\n" % (registry.host, digest)
    inspect = subprocess.run(["docker", "image", "inspect", "-f", "{{json .RepoDigests}}", IMAGE],
                             env=env, capture_output=True, text=True, check=True)
    assert "%s/team/tiny@%s" % (registry.host, digest) in json.loads(inspect.stdout)
    record = json.load(open(push.runs / ".last-push.json"))
    assert record == {"image": "%s/team/tiny@%s" % (registry.host, digest),
                      "repository": "%s/team/tiny" % registry.host, "tag": "v1", "digest": digest}
    # k8s job runs what was pushed, by digest, with no --image.
    job = subprocess.run([aero_launch, "k8s", "job", "--", "true"], env=push.env,
                         capture_output=True, text=True)
    assert job.returncode == 0, job.stderr
    container = yaml.safe_load(job.stdout)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "%s/team/tiny@%s" % (registry.host, digest)


def test_push_without_image_pushes_the_tag_itself_and_defaults_to_latest(push, engine):
    env, registry, _ = engine
    target = "%s/solo" % registry.host
    subprocess.run(["docker", "tag", IMAGE, target], env=env, check=True)
    r = push("-v", target)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "%s/solo@%s" % (registry.host,
                                               registry.manifest_digest("solo", "latest"))
    assert "The push refers to repository [%s/solo]" % registry.host in r.stderr  # -v
    quiet = push(target)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == r.stdout


def test_a_missing_image_is_named(push, engine):
    _, registry, _ = engine
    r = push("%s/nothing/here:v9" % registry.host)
    assert r.returncode == IMAGE_MISSING, r.stderr
    assert "no image %s/nothing/here:v9 here to push" % registry.host in r.stderr
    r = push("--image", "aeromancy-test/absent:1", "%s/x:1" % registry.host)
    assert r.returncode == IMAGE_MISSING and "no image 'aeromancy-test/absent:1'" in r.stderr
    assert not (push.runs / ".last-push.json").exists()


def test_denied_has_its_own_status_and_says_how_to_log_in(push, engine):
    _, _, locked = engine
    target = "%s/team/tiny:v1" % locked.host
    r = push("--image", IMAGE, target)
    assert r.returncode == DENIED, r.stderr
    assert "log in (docker login %s, or set DOCKER_AUTH_CONFIG)" % locked.host in r.stderr
    r = push("--image", IMAGE, target, extra={
        "DOCKER_AUTH_CONFIG": auth_config("alice", "wrong", locked.host)})
    assert r.returncode == DENIED, r.stderr
    assert not (push.runs / ".last-push.json").exists()


def test_credentials_from_docker_auth_config(push, engine):
    _, _, locked = engine
    r = push("--image", IMAGE, "%s/team/tiny:v2" % locked.host, extra={
        "DOCKER_AUTH_CONFIG": auth_config("alice", USERS["alice"], "http://" + locked.host)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(locked.manifest_digest("team/tiny", "v2"))


def test_credentials_from_config_json(push, engine, tmp_path):
    _, _, locked = engine
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text(
        auth_config("alice", USERS["alice"], locked.host))
    r = push("--image", IMAGE, "%s/team/tiny:v3" % locked.host)  # HOME is tmp_path
    assert r.returncode == 0, r.stderr
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.json").write_text(json.dumps({"auths": {locked.host: {
        "username": "alice", "password": USERS["alice"]}}}))
    (tmp_path / ".docker" / "config.json").write_text("{}")
    r = push("--image", IMAGE, "%s/team/tiny:v4" % locked.host, extra={"DOCKER_CONFIG": str(conf)})
    assert r.returncode == 0, r.stderr


@contextlib.contextmanager
def tcp_to_unix(socket_path):
    """A loopback TCP port forwarded to the engine's unix socket: the test's
    dockerd as DOCKER_HOST=tcp:// would find it."""
    server = socket.create_server(("127.0.0.1", 0))

    def pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def connect(client):
        with client, socket.socket(socket.AF_UNIX) as engine:
            engine.connect(socket_path)
            back = threading.Thread(target=pipe, args=(engine, client), daemon=True)
            back.start()
            pipe(client, engine)
            back.join()

    def serve():
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=connect, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield "tcp://127.0.0.1:%d" % server.getsockname()[1]
    finally:
        server.close()


def test_a_tcp_docker_host_is_spoken_to(push, engine):
    env, registry, _ = engine
    with tcp_to_unix(env["DOCKER_HOST"][len("unix://"):]) as host:
        r = push("--image", IMAGE, "%s/over/tcp:v1" % registry.host, extra={"DOCKER_HOST": host})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "%s/over/tcp@%s" % (registry.host,
                                                   registry.manifest_digest("over/tcp", "v1"))


def test_a_write_error_after_the_push_is_internal(push, engine):
    _, registry, _ = engine
    with open("/dev/full", "w") as full:
        r = subprocess.run([push.aero_launch, "push", "--image", IMAGE,
                            "%s/team/full:v1" % registry.host],
                           env=push.env, stdout=full, stderr=subprocess.PIPE, text=True,
                           timeout=120)
    assert r.returncode == INTERNAL, r.stderr
    assert "cannot write to standard output" in r.stderr
    assert not (push.runs / ".last-push.json").exists()


def test_engine_errors_and_usage(push, engine, tmp_path):
    _, registry, _ = engine
    target = "%s/x:1" % registry.host
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    r = push(target, extra={"DOCKER_HOST": "tcp://127.0.0.1:%d" % port})
    assert r.returncode == ENGINE and "cannot reach the Docker engine" in r.stderr, r.stderr
    r = push(target, extra={"DOCKER_HOST": "unix://%s/none.sock" % tmp_path})
    assert r.returncode == ENGINE and "cannot reach the Docker engine" in r.stderr, r.stderr
    r = push(target, extra={"DOCKER_HOST": "ssh://me@there"})
    assert r.returncode == ENGINE and "neither unix://PATH nor tcp://" in r.stderr, r.stderr
    r = push(target, extra={"DOCKER_AUTH_CONFIG": "{not json"})
    assert r.returncode == USAGE and "is not JSON" in r.stderr
    r = push("--image", "tiny?x", target)
    assert r.returncode == USAGE and "is not an image's name or id" in r.stderr
    r = push()
    assert r.returncode == USAGE and "no repository given" in r.stderr
    r = push("a", "b")
    assert r.returncode == USAGE and "one repository only" in r.stderr
    r = push("%s/x@sha256:%s" % (registry.host, "0" * 64))
    assert r.returncode == USAGE and "the registry gives the digest" in r.stderr
    r = push("Upper/Case")
    assert r.returncode == USAGE and "is not a repository name" in r.stderr


def test_a_denied_base_image_pull_has_the_denied_status(push, engine, tmp_path):
    """`aero-launch run` whose Dockerfile starts FROM an image in a registry that
    wants credentials: without them the build's pull is denied, exit 72 with a
    sentence on logging in; the same image pushed there with credentials first."""
    from helpers.gitrepo import git_env, make_project
    env, _, locked = engine
    target = "%s/team/base:1" % locked.host
    creds = {"DOCKER_AUTH_CONFIG": auth_config("alice", USERS["alice"], locked.host)}
    r = push("--image", IMAGE, target, extra=creds)
    assert r.returncode == 0, r.stderr
    # Only in the registry now: the build has to pull it.
    subprocess.run(["docker", "image", "rm", target], env=env, check=True, capture_output=True)
    genv = git_env(tmp_path / "home")
    repo = make_project(tmp_path, genv, {"Dockerfile": "FROM %s\n" % target})
    r = subprocess.run([push.aero_launch, "run", "-C", repo, "--build-only"],
                       env={**push.env, **{k: v for k, v in genv.items() if k.startswith("GIT_")},
                            "HOME": str(tmp_path / "home")},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == DENIED, r.stderr
    assert "docker login" in r.stderr
    # With the registry's credentials (as `docker login` keeps them) the build
    # sends them to the engine (X-Registry-Config) and the pull goes through.
    r = subprocess.run([push.aero_launch, "run", "-C", repo, "--build-only"],
                       env={**push.env, **{k: v for k, v in genv.items() if k.startswith("GIT_")},
                            "HOME": str(tmp_path / "home"), **creds},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
