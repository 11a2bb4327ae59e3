"""Fixtures for running aero-init as PID 1 of a fresh PID namespace or as an
ordinary process, and for watching what happens to it from outside."""
import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EXPERIMENT = [sys.executable, os.path.join(HERE, "helpers", "experiment.py")]
SANITIZED = os.environ.get("AERO_TEST_SANITIZED") == "1"
# aero-init runs under valgrind's memcheck (make valgrind).
VALGRIND = os.environ.get("AERO_TEST_VALGRIND") == "1"


# The tests `make valgrind` runs aero-init under memcheck for (pytest -m valgrind):
# a few of each of its duties, not every variation, so that the run stays short.
memcheck = pytest.mark.valgrind


def not_under_valgrind(reason):
    """Marks a test that cannot hold with aero-init under valgrind, and why."""
    return pytest.mark.skipif(VALGRIND, reason="under valgrind " + reason)


def pytest_configure(config):
    config.addinivalue_line("markers", "valgrind: in the subset that make valgrind runs")


def binary(name):
    path = os.environ.get(name)
    if not path:
        pytest.exit("%s is not set: run the tests with 'make test'" % name, returncode=2)
    return path


@pytest.fixture(scope="session")
def aero_init():
    return binary("AERO_INIT")


@pytest.fixture(scope="session")
def aero_launch():
    return binary("AERO_LAUNCH")


# aero-init records every run by default; the tests' default run directories
# go here, never into the home directory of whoever runs the tests.
RUNS_DIR = tempfile.mkdtemp(prefix="aero-test-runs-")
atexit.register(shutil.rmtree, RUNS_DIR, True)


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AERO_", "WANDB_", "MLFLOW_"))}
    env["AERO_RUNS_DIR"] = RUNS_DIR
    env.update(extra or {})
    return env


def children_of(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def process_state(pid):
    """The one-letter state of a process (R, S, T, Z...), or None when gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def wait_until(predicate, timeout=20.0, what="condition"):
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.005)


class Init:
    """aero-init started in the background; `pid` is its pid as seen from here."""

    def __init__(self, aero_init, args, pid1, env=None, **popen):
        self.pid1 = pid1
        prefix = ["unshare", "--pid", "--fork", "--mount-proc"] if pid1 else []
        popen.setdefault("stdout", subprocess.PIPE)
        popen.setdefault("stderr", subprocess.PIPE)
        popen.setdefault("stdin", subprocess.DEVNULL)
        self.proc = subprocess.Popen(prefix + [aero_init] + args, env=clean_env(env), **popen)
        if pid1:
            self.pid = wait_until(lambda: (children_of(self.proc.pid) or [None])[0],
                                  what="aero-init to start in its namespace")
        else:
            self.pid = self.proc.pid

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait(self, timeout=30):
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def kill(self):
        """After a failed test: end aero-init and what it started (each child
        leads a process group of its own), so that nothing outlives the test."""
        if self.proc.poll() is None:
            for child in children_of(self.pid):
                try:
                    os.killpg(child, signal.SIGKILL)
                except OSError:
                    pass
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(params=["pid1", "subreaper"])
def mode(request):
    return request.param


@pytest.fixture
def start(aero_init):
    started = []

    def _start(args, pid1, **kw):
        init = Init(aero_init, args, pid1, **kw)
        started.append(init)
        return init

    yield _start
    for init in started:
        init.kill()


def run(aero_init, args, pid1=False, env=None, timeout=60, **kw):
    prefix = ["unshare", "--pid", "--fork", "--mount-proc"] if pid1 else []
    return subprocess.run(prefix + [aero_init] + args, env=clean_env(env), capture_output=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)
