"""A private Docker engine for a test module: its own socket, data and exec
roots, no bridge, stopped and cleaned up afterwards."""
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest


@contextlib.contextmanager
def private_dockerd(rootfs, image):
    """Starts dockerd and imports rootfs as image; yields (env, work dir)."""
    if shutil.which("dockerd") is None:
        pytest.skip("dockerd is missing: apt-get install docker.io (.ci/deps.sh does)")
    if os.geteuid() != 0:
        pytest.skip("starting a private dockerd needs root")
    if not rootfs or not os.path.exists(os.path.join(rootfs, ".complete")):
        pytest.fail("AERO_TEST_ROOTFS must name a debootstrapped tree: run 'make test'")
    work = tempfile.mkdtemp(prefix="aero-dockerd-")
    sock = os.path.join(work, "docker.sock")
    log = open(os.path.join(work, "dockerd.log"), "w")
    daemon = subprocess.Popen(
        ["dockerd", "--host", "unix://" + sock, "--data-root", os.path.join(work, "data"),
         "--exec-root", os.path.join(work, "exec"), "--pidfile", os.path.join(work, "pid"),
         "--bridge=none", "--iptables=false"], stdout=log, stderr=subprocess.STDOUT)
    env = {**os.environ, "DOCKER_HOST": "unix://" + sock}
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "version"], env=env, capture_output=True).returncode:
            if daemon.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("dockerd did not start:\n" +
                            open(os.path.join(work, "dockerd.log")).read()[-3000:])
            time.sleep(0.2)
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "--exclude=./proc", "--exclude=./sys",
                                "--exclude=./dev", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-", image], stdin=tar.stdout, env=env, check=True,
                       capture_output=True)
        tar.wait()
        yield env, work
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        subprocess.run(["umount", "-R", os.path.join(work, "data")], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
