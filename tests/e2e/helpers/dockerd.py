"""A private Docker engine for a test: its own socket, data and exec roots, no
bridge, stopped and cleaned up afterwards; optionally with the debootstrapped
Debian tree imported as an image (no registry can be reached)."""
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest


@contextlib.contextmanager
def engine(extra_args=(), missing=pytest.skip):
    """Starts dockerd with extra_args; yields (env with DOCKER_HOST, work dir).
    missing(reason) is called when dockerd cannot run here."""
    if shutil.which("dockerd") is None:
        missing("dockerd is missing: apt-get install docker.io (.ci/deps.sh does)")
    if os.geteuid() != 0:
        missing("starting a private dockerd needs root")
    work = tempfile.mkdtemp(prefix="aero-dockerd-")
    sock = os.path.join(work, "docker.sock")
    log_path = os.path.join(work, "dockerd.log")
    log = open(log_path, "w")
    daemon = subprocess.Popen(
        ["dockerd", "--host", "unix://" + sock, "--data-root", os.path.join(work, "data"),
         "--exec-root", os.path.join(work, "exec"), "--pidfile", os.path.join(work, "pid"),
         "--bridge=none", "--iptables=false", *extra_args],
        stdout=log, stderr=subprocess.STDOUT)
    env = {**os.environ, "DOCKER_HOST": "unix://" + sock}
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "version"], env=env, capture_output=True).returncode:
            if daemon.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("dockerd did not start:\n" + open(log_path).read()[-3000:])
            time.sleep(0.2)
        yield env, work
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        # dockerd leaves its data mounts and the default network namespace's
        # bind mount under the exec root behind.
        for mounted in ("data", "exec/netns/default"):
            subprocess.run(["umount", "-R", os.path.join(work, mounted)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


def import_rootfs(env, rootfs, image):
    """Imports the debootstrapped tree at rootfs as image."""
    if not rootfs or not os.path.exists(os.path.join(rootfs, ".complete")):
        pytest.fail("AERO_TEST_ROOTFS must name a debootstrapped tree: run 'make test'")
    tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "--exclude=./proc", "--exclude=./sys",
                            "--exclude=./dev", "."], stdout=subprocess.PIPE)
    subprocess.run(["docker", "import", "-", image], stdin=tar.stdout, env=env, check=True,
                   capture_output=True)
    tar.wait()


@contextlib.contextmanager
def private_dockerd(rootfs, image, extra_args=()):
    """Starts dockerd and imports rootfs as image; yields (env, work dir)."""
    if not rootfs or not os.path.exists(os.path.join(rootfs, ".complete")):
        pytest.fail("AERO_TEST_ROOTFS must name a debootstrapped tree: run 'make test'")
    with engine(extra_args) as (env, work):
        import_rootfs(env, rootfs, image)
        yield env, work
