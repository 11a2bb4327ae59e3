"""aero-init as Docker's init: `dockerd --init-path=aero-init` and
`docker run --init`, against a real Docker engine started for these tests
with an image imported from the debootstrapped Debian tree (no registry)."""
import os
import shutil
import subprocess
import tempfile

import pytest

from helpers.dockerd import private_dockerd

IMAGE = "aeromancy-test/bookworm:latest"


@pytest.fixture(scope="module")
def docker():
    # The image has only Debian's libraries: the static aero-init goes in.
    aero_init = os.environ.get("AERO_INIT_STATIC")
    if not aero_init:
        pytest.skip("the Docker tests run the static aero-init ('make test' sets "
                    "AERO_INIT_STATIC)")
    rootfs = os.environ.get("AERO_TEST_ROOTFS")
    if not rootfs or not os.path.exists(os.path.join(rootfs, ".complete")):
        pytest.fail("AERO_TEST_ROOTFS must name a debootstrapped tree: run 'make test'")
    keep = tempfile.mkdtemp(prefix="aero-docker-init-")
    init = os.path.join(keep, "aero-init")
    shutil.copy(aero_init, init)
    try:
        with private_dockerd(rootfs, IMAGE, ["--init-path", init]) as (env, work):
            yield env, os.path.join(work, "dockerd.log")
    finally:
        shutil.rmtree(keep, ignore_errors=True)


def docker_run(env, *args, timeout=60):
    return subprocess.run(["docker", "run", "--rm", "--init", "--network", "none", *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


def test_docker_run_init_is_aero_init(docker):
    env, _ = docker
    r = docker_run(env, IMAGE, "sh", "-c", "tr '\\0' ' ' < /proc/1/cmdline; exit 7")
    assert r.returncode == 7, r.stderr
    assert r.stdout.startswith("/sbin/docker-init -- sh -c")
    version = docker_run(env, IMAGE, "/sbin/docker-init", "--version")
    assert version.stdout.startswith("aero-init version ")


def test_docker_stop_reaches_the_experiment(docker):
    env, _ = docker
    name = "aero-stop-%d" % os.getpid()
    script = "trap 'echo cleaned; exit 0' TERM; echo ready; while :; do sleep 0.1; done"
    proc = subprocess.Popen(["docker", "run", "--name", name, "--init", "--network", "none",
                             IMAGE, "sh", "-c", script], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        subprocess.run(["docker", "stop", "-t", "20", name], env=env, check=True,
                       capture_output=True, timeout=60)
        out, _ = proc.communicate(timeout=60)
        assert "cleaned" in out
        code = subprocess.run(["docker", "inspect", "-f", "{{.State.ExitCode}}", name],
                              env=env, capture_output=True, text=True).stdout.strip()
        assert code == "0"
    finally:
        subprocess.run(["docker", "rm", "-f", name], env=env, capture_output=True)
        proc.kill()


def test_settings_come_from_the_environment(docker):
    env, _ = docker
    r = docker_run(env, "-e", "AERO_REMAP_EXIT=3", "-e", "AERO_SEED=11", IMAGE,
                   "sh", "-c", "echo $AERO_SEED; exit 3")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "11\n"


def test_docker_info_cannot_read_the_version(docker):
    """What the docs say: docker info expects tini's --version format."""
    env, log = docker
    info = subprocess.run(["docker", "info", "--format", "{{.InitCommit.ID}}"], env=env,
                          capture_output=True, text=True)
    assert info.stdout.strip() == "N/A"
    assert "unknown output format: aero-init version" in open(log).read()
