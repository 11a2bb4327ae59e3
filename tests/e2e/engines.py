"""Real servers the image and push tests start for themselves: a private
dockerd (Debian's docker.io) and a registry (Debian's docker-registry), each on
a socket or a loopback port of its own, each stopped at the end."""
import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from helpers.dockerd import engine


def stop(proc, timeout=30):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def dockerd():
    """Yields the environment (DOCKER_HOST) of a dockerd of the test's own."""
    with engine(missing=pytest.fail) as (env, _work):
        yield env


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """Debian's docker-registry on 127.0.0.1 (which dockerd treats as insecure, so
    plain HTTP, by default), optionally with htpasswd users."""

    def __init__(self, work, users=None):
        binary = shutil.which("docker-registry")
        if binary is None:
            pytest.fail("docker-registry is missing: apt-get install docker-registry "
                        "(.ci/deps.sh does)")
        os.makedirs(work, exist_ok=True)
        self.port = free_port()
        self.host = "127.0.0.1:%d" % self.port
        self.users = users or {}
        auth = ""
        if self.users:
            htpasswd = os.path.join(work, "htpasswd")
            for i, (user, password) in enumerate(self.users.items()):
                subprocess.run(["htpasswd", "-B", "-b"] + (["-c"] if i == 0 else []) +
                               [htpasswd, user, password], check=True, capture_output=True)
            auth = "auth:\n  htpasswd:\n    realm: aeromancy-test\n    path: %s\n" % htpasswd
        config = os.path.join(work, "registry.yml")
        with open(config, "w") as f:
            f.write("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
                    "    rootdirectory: %s\nhttp:\n  addr: %s\n%s"
                    % (os.path.join(work, "registry-data"), self.host, auth))
        self.log = open(os.path.join(work, "registry.log"), "w")
        self.proc = subprocess.Popen([binary, "serve", config], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen("http://%s/v2/" % self.host, timeout=2)
                break
            except urllib.error.HTTPError:
                break  # 401 with auth: it is up
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("docker-registry did not start:\n" +
                                open(self.log.name).read()[-3000:])
                time.sleep(0.1)

    def manifest_digest(self, repository, tag):
        """The digest the registry itself gives repository:tag."""
        request = urllib.request.Request(
            "http://%s/v2/%s/manifests/%s" % (self.host, repository, tag), method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        if self.users:
            user, password = next(iter(self.users.items()))
            token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
            request.add_header("Authorization", "Basic " + token)
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.headers["Docker-Content-Digest"]

    def close(self):
        stop(self.proc)
        self.log.close()
