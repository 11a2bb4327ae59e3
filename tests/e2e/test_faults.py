"""Faults from outside the experiment's code: aero-init out of file
descriptors, and the wall clock set back or forward during a run. (A full
disk and a tracker killed mid-run have tests of their own.)"""
import json
import os
import subprocess
import sys

import pytest

from conftest import VALGRIND, clean_env, memcheck, wait_until
from doubles.fixtures import wandb_double  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT_PATH = os.path.join(ROOT, "image", "python")
LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


# ---- out of file descriptors --------------------------------------------------

# The experiment raises its own limit (aero-init's stays low), keeps one
# connection, then opens 300 more without sending anything: aero-init runs out
# of descriptors. It measures aero-init's CPU time while nothing happens (a
# connection it cannot accept must not make it spin), checks that the first
# connection and the console still work and that a new process's client is
# told why it was refused, then closes the extra connections and logs once
# more, from a new one.
EXHAUST = r"""
import json, os, resource, select, socket, sys, time
import aeromancy
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
path = os.environ["AERO_SOCKET"]
first = socket.socket(socket.AF_UNIX)
first.connect(path)
f = first.makefile("rwb")
acked = []
def log(i):
    f.write(b'{"type":"log","data":{"i":%d}}\n' % i)
    f.flush()
    assert f.readline() == b'{"ok":true}\n'
    acked.append(i)
log(0)
extra = []
stuck = False
deadline = time.monotonic() + 30
while len(extra) < 300 and not stuck:
    s = socket.socket(socket.AF_UNIX)
    s.setblocking(False)
    while True:
        try:
            s.connect(path)
            break
        except BlockingIOError:  # aero-init's queue of connections is full
            stuck = time.monotonic() > deadline
            if stuck:
                break
            time.sleep(0.01)
    extra.append(s)
if stuck:
    json.dump({"stuck": True, "count": len(extra)}, sys.stderr)
    sys.exit(7)
log(1)
def cpu_of(pid):
    with open("/proc/%d/stat" % pid) as st:
        fields = st.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
before = cpu_of(os.getppid())
time.sleep(2)
spun = cpu_of(os.getppid()) - before
# Refused connections were answered, then closed; the others wait.
refused = [s for s in extra if select.select([s], [], [], 0)[0]]
answers = sorted({s.recv(4096).decode() for s in refused})
print("on the console while out of descriptors", flush=True)
log(2)
pid = os.fork()
if pid == 0:
    try:
        aeromancy.log({"from": "child"})
        os._exit(3)
    except aeromancy.AeromancyError as e:
        os._exit(0 if "out of file descriptors" in str(e) else 4)
child = os.waitpid(pid, 0)[1]
for s in extra:
    s.close()
time.sleep(0.5)
aeromancy.log({"i": 3})  # a new connection, now that there is room
acked.append(3)
json.dump({"spun": spun, "stuck": stuck, "refused": len(refused), "kept": len(extra) - len(refused),
           "answers": answers, "child": child, "acked": acked}, sys.stderr)
sys.exit(7)
"""


@memcheck
def test_out_of_file_descriptors(aero_init, tmp_path):
    run_dir = tmp_path / "run"
    # A soft limit of 64 for aero-init; the hard limit lets the experiment
    # raise its own.
    r = subprocess.run(["prlimit", "--nofile=64:4096", "--", aero_init, "--run-dir",
                        str(run_dir), "--system-interval", "300ms", "--", sys.executable, "-c",
                        EXHAUST], capture_output=True, text=True, timeout=180,
                       env=clean_env({"PYTHONPATH": CLIENT_PATH}))
    assert r.returncode == 7, r.stderr  # the experiment's status comes through
    report = json.loads(r.stderr[r.stderr.index("{"):r.stderr.rindex("}") + 1])
    # No busy loop on the connections it could not accept, nor a queue that
    # stays full.
    assert not report["stuck"] and report["spun"] < 0.5, report
    assert report["refused"] > 0 and report["kept"] > 0, report
    assert any("out of file descriptors" in a for a in report["answers"]), report
    # The client said why. (Under valgrind a connection that the kernel gives
    # a descriptor above the limit valgrind keeps for aero-init is closed by
    # valgrind, unanswered: the client can only say that it was closed.)
    assert report["child"] == 0 or (VALGRIND and report["child"] == 4 << 8), report
    # Said once, however many connections were refused, then counted.
    assert r.stderr.count("warning: out of file descriptors (RLIMIT_NOFILE is ") == 1, r.stderr
    assert "ulimit -n" in r.stderr
    assert "connections to AERO_SOCKET were refused for lack of file descriptors" in r.stderr
    # System metrics that cannot be written are said once, not every 300 ms.
    assert r.stderr.count("cannot record system metrics") <= 1, r.stderr
    # Every acknowledged record is on disk; the console was recorded.
    assert [row["i"] for row in lines(run_dir / "metrics.jsonl")] == report["acked"]
    assert "on the console while out of descriptors" in (run_dir / "output.log").read_text()
    run = json.loads((run_dir / "run.json").read_text())
    assert run["state"] == "failed" and run["exit_status"] == 7


# ---- the wall clock set back or forward -----------------------------------------

@pytest.fixture
def faked_clock(tmp_path):
    """The dynamic aero-init and an environment under which its wall clock
    (CLOCK_REALTIME, not CLOCK_MONOTONIC) is libfaketime's: real time plus the
    offset in the returned file, read again at every call."""
    aero_init = os.environ.get("AERO_INIT_DYNAMIC")
    if not aero_init:
        pytest.skip("AERO_INIT_DYNAMIC is unset: the clock tests need the dynamic aero-init "
                    "(LD_PRELOAD does not reach a static one); run them with 'make test'")
    if not os.path.exists(LIBFAKETIME):
        pytest.skip("libfaketime is not installed (Debian's faketime, .ci/deps.sh)")
    # The experiment runs on the real clock: "env -u LD_PRELOAD" (and
    # libfaketime 0.9.10 fails Python's sleep on CLOCK_MONOTONIC).
    offset = tmp_path / "offset"
    offset.write_text("+0\n")
    env = {"LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": str(offset),
           "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1",
           "CLOCK_OFFSET_FILE": str(offset), "PYTHONPATH": CLIENT_PATH}
    return aero_init, env


# Two seconds of rows, the clock moved by JUMP seconds, a partial console line,
# two more seconds of rows; whether the partial line reached output.log after
# the console's one-second timer is reported on stderr.
JUMPER = r"""
import os, sys, time
import aeromancy
for i in range(8):
    aeromancy.log({"i": i})
    time.sleep(0.25)
with open(os.environ["CLOCK_OFFSET_FILE"], "w") as f:
    f.write("%s\n" % os.environ["JUMP"])
os.write(1, b"half a line")
for i in range(8, 16):
    aeromancy.log({"i": i})
    time.sleep(0.25)
with open(os.path.join(sys.argv[1], "output.log")) as f:
    partial = "out+ half a line" in f.read()
os.write(1, b"\n")
print("partial line recorded in time:", partial, file=sys.stderr)
"""


@pytest.mark.parametrize("jump", [-3600, 3600], ids=["back", "forward"])
def test_clock_jump_during_a_run(faked_clock, tmp_path, jump):
    aero_init, env = faked_clock
    run_dir = tmp_path / "run"
    r = subprocess.run([aero_init, "--run-dir", str(run_dir), "--system-interval", "250ms",
                        "--", "env", "-u", "LD_PRELOAD", sys.executable, "-c", JUMPER, str(run_dir)],
                       capture_output=True, text=True, timeout=120,
                       env=clean_env(dict(env, JUMP="%+d" % jump)))
    assert r.returncode == 0, r.stderr
    assert "partial line recorded in time: True" in r.stderr
    rows = lines(run_dir / "metrics.jsonl")
    assert [row["i"] for row in rows] == list(range(16))
    # _timestamp is the wall clock's, jump included...
    before, after = rows[7]["_timestamp"], rows[8]["_timestamp"]
    assert abs((after - before) - jump) < 60, (before, after)
    # ... _runtime is time spent: it never goes back, nor leaps.
    runtimes = [row["_runtime"] for row in rows]
    assert runtimes == sorted(runtimes) and 0 <= runtimes[0] and runtimes[-1] < 60, runtimes
    assert all(b - a < 5 for a, b in zip(runtimes, runtimes[1:])), runtimes
    # System metrics went on every 250 ms, on both sides of the jump.
    samples = lines(run_dir / "system.jsonl")
    sample_times = [s["_runtime"] for s in samples]
    assert sample_times == sorted(sample_times) and sample_times[-1] < 60, sample_times
    assert all(b - a < 2 for a, b in zip(sample_times, sample_times[1:])), sample_times
    jumped = [s for s in samples if abs(s["_timestamp"] - samples[0]["_timestamp"]) > 1800]
    assert len(jumped) >= 2 and len(samples) - len(jumped) >= 2, samples


def test_clock_set_back_does_not_hold_up_the_tracker(faked_clock, tmp_path, wandb_double):
    """The W&B sink sends what is new every 200 ms and a heartbeat when
    nothing is: with the wall clock an hour back, a row logged afterwards
    still reaches the tracker while the run goes on."""
    aero_init, env = faked_clock
    code = r"""
import os, time
import aeromancy
aeromancy.log({"i": 0})
time.sleep(1)
with open(os.environ["CLOCK_OFFSET_FILE"], "w") as f:
    f.write("-3600\n")
aeromancy.log({"i": 1})
time.sleep(8)
"""
    env = dict(env, **wandb_double.env, WANDB_PROJECT="aero-tests", AERO_TRACKER="wandb",
               AERO_TRACKER_INTERVAL="200ms")
    proc = subprocess.Popen([aero_init, "--run-dir", str(tmp_path / "run"), "--", "env", "-u",
                             "LD_PRELOAD", sys.executable, "-c", code], env=clean_env(env), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def history():
            runs = wandb_double.state()["runs"]
            run = next(iter(runs.values()), {"files": {}})
            return [json.loads(line)
                    for line in run["files"].get("wandb-history.jsonl", [])]
        wait_until(lambda: len(history()) >= 2, timeout=8.0, what="the row after the jump")
        assert proc.poll() is None  # delivered while the run went on, not at its end
        assert [row["i"] for row in history()] == [0, 1]
    finally:
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
