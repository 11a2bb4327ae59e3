"""aeromancy/base (Dockerfile.base, built by mk/base-image.sh as `make
base-image` does), the static aero-init alone in images with nothing else, and
the example project built FROM the base, all against a real dockerd started
here. No registry: debian:bookworm-slim is debootstrapped and imported."""
import json
import os
import re
import shutil
import subprocess

import pytest

import engines

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
BASE = "aeromancy/base:test"


def docker(env, *args, check=True, timeout=300, **kw):
    r = subprocess.run(["docker", *args], env=env, capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise AssertionError("docker %s: %s" % (" ".join(args[:3]), r.stderr[-3000:]))
    return r


def run(env, *args, timeout=120):
    return docker(env, "run", "--rm", "--network", "none", *args, check=False, timeout=timeout)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    aero_init = os.environ.get("AERO_INIT_STATIC")
    if not aero_init:
        pytest.skip("the image tests need the static aero-init ('make test' sets "
                    "AERO_INIT_STATIC)")
    with engines.dockerd() as env:
        r = subprocess.run([os.path.join(ROOT, "mk", "base-image.sh"), "TAG=" + BASE,
                            "AERO_INIT_BINARY=" + aero_init], env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        yield env, tmp_path_factory.mktemp("image")


@pytest.fixture(scope="module")
def probe(engine):
    """A static program with no library, made here with the C compiler."""
    _, work = engine
    out = work / "probe"
    subprocess.run(["cc", "-static", "-O2", "-o", str(out),
                    os.path.join(HERE, "helpers", "static_probe.c")], check=True)
    return out


def test_pid1_is_aero_init_and_the_status_passes_through(engine):
    env, _ = engine
    r = run(env, BASE, "sh", "-c", "tr '\\0' ' ' </proc/1/cmdline; exit 7")
    assert r.returncode == 7, r.stderr
    assert r.stdout.startswith("/usr/bin/aero-init -- sh -c ")
    assert run(env, BASE, "sh", "-c", "kill -TERM $$").returncode == 128 + 15
    missing = run(env, BASE, "no-such-program")
    assert missing.returncode == 127 and "no-such-program" in missing.stderr
    assert run(env, BASE, "/usr/bin/aero-init", "--version").stdout.startswith("aero-init version")


def test_entrypoint_labels_and_nothing_else(engine):
    env, _ = engine
    config = json.loads(docker(env, "image", "inspect", "-f", "{{json .Config}}", BASE).stdout)
    assert config["Entrypoint"] == ["/usr/bin/aero-init", "--"]
    version = re.search(r"^VERSION := (\S+)", open(os.path.join(ROOT, "Makefile")).read(), re.M)
    labels = config["Labels"]
    assert labels["org.opencontainers.image.title"] == "aeromancy/base"
    assert labels["org.opencontainers.image.version"] == version.group(1)
    assert labels["org.opencontainers.image.base.name"] == "debian:bookworm-slim"
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    assert labels["org.opencontainers.image.revision"] == (head or "unknown")
    # Nothing a user would have to undo: no command, user, directory, variable,
    # volume or port of its own, and three files over the base's layers.
    for key in ("Cmd", "User", "WorkingDir", "Volumes", "ExposedPorts", "Healthcheck",
                "StopSignal", "OnBuild", "Shell"):
        assert not config.get(key), key
    assert [e.split("=")[0] for e in config["Env"]] == ["PATH"]

    def layers(image):
        return len(json.loads(docker(env, "image", "inspect", "-f", "{{json .RootFS.Layers}}",
                                     image).stdout))
    assert layers(BASE) == layers("debian:bookworm-slim") + 3


def test_docker_stop_reaches_the_experiment(engine):
    env, _ = engine
    name = "aero-base-stop-%d" % os.getpid()
    script = "trap 'echo cleaned; exit 0' TERM; echo ready; while :; do sleep 0.1; done"
    proc = subprocess.Popen(["docker", "run", "--name", name, "--network", "none", BASE, "sh",
                             "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        docker(env, "stop", "-t", "20", name, timeout=60)
        out, _ = proc.communicate(timeout=60)
        assert "cleaned" in out and proc.returncode == 0
    finally:
        docker(env, "rm", "-f", name, check=False)
        proc.kill()
        proc.wait()


def build(env, context, tag, *args):
    docker(env, "build", "-q", "-t", tag, *args, str(context), timeout=600)


def test_aero_init_alone_in_a_scratch_image(engine, probe, tmp_path):
    """FROM scratch, aero-init and one static program: no libc, no shell, no
    /etc. aero-init still runs it, records the run and passes its status on."""
    env, _ = engine
    shutil.copy(os.environ["AERO_INIT_STATIC"], tmp_path / "aero-init")
    shutil.copy(probe, tmp_path / "probe")
    (tmp_path / "Dockerfile").write_text(
        'FROM scratch\nCOPY aero-init /aero-init\nCOPY probe /probe\n'
        'ENTRYPOINT ["/aero-init", "--"]\nCMD ["/probe"]\n')
    build(env, tmp_path, "aeromancy-test/scratch")
    runs = tmp_path / "runs"
    runs.mkdir()
    r = run(env, "-v", "%s:/runs" % runs, "-e", "AERO_RUN_DIR=/runs/r1", "-e", "AERO_SEED=5",
            "aeromancy-test/scratch")
    assert r.returncode == 3, r.stderr
    assert r.stdout == "ppid=1 seed=5\n"
    manifest = json.load(open(runs / "r1" / "manifest.json"))
    assert "no C library found" in manifest["system"]["libc"]["error"]
    assert manifest["run"]["argv"] == ["/probe"]
    assert manifest["seed"]["base"] == "5"
    missing = run(env, "aeromancy-test/scratch", "sh", "-c", "true")
    assert missing.returncode == 127 and "sh" in missing.stderr


def test_copied_from_the_base_into_a_minimal_image(engine, probe, tmp_path):
    """The documented way into another image: COPY --from=aeromancy/base. Here a
    distroless-like image: an os-release and a passwd file, and no CA bundle,
    shell or C library of its own."""
    env, _ = engine
    shutil.copy(probe, tmp_path / "probe")
    (tmp_path / "os-release").write_text('PRETTY_NAME="Minimal"\nID=minimal\nVERSION_ID="1"\n')
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/sbin/nologin\n"
                                     "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
    (tmp_path / "Dockerfile").write_text(
        "FROM scratch\nCOPY --from=%s /usr/bin/aero-init /usr/bin/aero-init\n"
        "COPY os-release /etc/os-release\nCOPY passwd /etc/passwd\nCOPY probe /app/probe\n"
        'USER 65532\nENTRYPOINT ["/usr/bin/aero-init", "--"]\nCMD ["/app/probe"]\n' % BASE)
    build(env, tmp_path, "aeromancy-test/minimal")
    listing = docker(env, "create", "aeromancy-test/minimal").stdout.strip()
    try:
        tar = subprocess.run(["docker", "export", listing], env=env, capture_output=True,
                             check=True).stdout
        names = subprocess.run(["tar", "-t"], input=tar, capture_output=True,
                               check=True).stdout.decode().split()
    finally:
        docker(env, "rm", listing)
    assert not [n for n in names if "ca-certificates" in n or n.endswith(("/sh", "libc.so.6"))]
    runs = tmp_path / "runs"
    runs.mkdir(mode=0o777)
    os.chmod(runs, 0o777)
    r = run(env, "-v", "%s:/runs" % runs, "-e", "AERO_RUN_DIR=/runs/r2",
            "aeromancy-test/minimal")
    assert r.returncode == 3, r.stderr
    assert r.stdout.startswith("ppid=1 seed=")
    manifest = json.load(open(runs / "r2" / "manifest.json"))
    assert manifest["system"]["os"]["ID"] == "minimal"
    assert manifest["run"]["uid"] == 65532


def test_the_example_project_builds_from_the_base_and_records_its_run(engine, tmp_path):
    """examples/project: apt for Python, the lockfile, then the sources. Its
    build reaches the host's Debian mirror (the slim image's own sources)."""
    env, _ = engine
    context = tmp_path / "project"
    shutil.copytree(os.path.join(ROOT, "examples", "project"), context)
    dockerfile = (context / "Dockerfile").read_text().replace("FROM aeromancy/base",
                                                             "FROM " + BASE)
    (context / "Dockerfile").write_text(dockerfile)
    build(env, context, "aeromancy-test/example", "--network", "host")
    runs = tmp_path / "runs"
    runs.mkdir()
    r = run(env, "-v", "%s:/runs" % runs, "-e", "AERO_RUN_DIR=/runs/ex", "-e", "AERO_SEED=9",
            "aeromancy-test/example")
    assert r.returncode == 0, r.stderr
    assert "epoch  20" in r.stdout
    metrics = [json.loads(line) for line in open(runs / "ex" / "metrics.jsonl")]
    assert len(metrics) == 20
    summary = json.load(open(runs / "ex" / "summary.json"))
    assert summary["final_loss"] < 0.05
    # The client is importable by the venv's python and by the system's.
    for python in ("python3", "/usr/bin/python3"):
        r = run(env, "aeromancy-test/example", python, "-c",
                "import aeromancy; print(aeromancy.__file__)")
        assert r.stdout == "/usr/share/aeromancy/python/aeromancy.py\n", r.stderr
    # Editing the sources rebuilds only the last layer: apt and the lockfile's
    # install come from the cache.
    with open(context / "train.py", "a") as f:
        f.write("# edited\n")
    rebuilt = docker(env, "build", "-t", "aeromancy-test/example", str(context), timeout=600)
    steps = re.split(r"\nStep \d+/\d+ : ", rebuilt.stdout)
    cached = {s.split("\n", 1)[0]: "Using cache" in s for s in steps[1:]}
    assert cached["COPY requirements.lock ./"] and all(
        v for k, v in cached.items() if k.startswith("RUN")), rebuilt.stdout
    assert not cached["COPY . ."]


def test_the_default_build_compiles_aero_init_in_the_builder(engine):
    """Dockerfile.base's default (AERO_INIT=compile): the static aero-init built in
    the builder stage from Debian's sources, apt pointed at the host's mirror."""
    env, _ = engine
    r = subprocess.run([os.path.join(ROOT, "mk", "base-image.sh"), "MODE=compile",
                        "TAG=aeromancy/base:compiled"], env=env, capture_output=True, text=True,
                       timeout=1200)
    assert r.returncode == 0, r.stdout + r.stderr
    info = run(env, "aeromancy/base:compiled", "/usr/bin/aero-init", "--build-info")
    assert json.loads(info.stdout)["linkage"] == "static"
    r = run(env, "aeromancy/base:compiled", "sh", "-c", "tr '\\0' ' ' </proc/1/cmdline; exit 4")
    assert r.returncode == 4 and r.stdout.startswith("/usr/bin/aero-init -- sh")
