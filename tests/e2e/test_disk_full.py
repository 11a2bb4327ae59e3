"""A full disk under the run directory: a real one, a small tmpfs mounted in a
private mount namespace and filled by the experiment. The experiment goes on;
its records wait in aero-init's memory, unacknowledged, up to a bound, then
its writes block; when there is room again they are written, once each, in
order. When the disk stays full to the end, aero-init says which records could
not be written and exits 74; nothing acknowledged is lost."""
import json
import os
import re
import signal
import subprocess
import sys
import time

from conftest import SANITIZED, children_of, clean_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT_PATH = os.path.join(ROOT, "image", "python")

# Prepended to each experiment: fill(path) fills the disk under path to the
# last byte; free_later(path, seconds) deletes that file from a thread.
HELPERS = r'''
import json, os, sys, threading, time
RUN = os.environ["RUN"]
FILLER = os.path.join(RUN, "filler")

def fill():
    fd = os.open(FILLER, os.O_WRONLY | os.O_CREAT, 0o600)
    for size in (1 << 16, 4096, 1):
        while True:
            try:
                os.write(fd, b"\0" * size)
            except OSError:
                break
    os.close(fd)

def free_later(seconds, before=None):
    def free():
        time.sleep(seconds)
        if before is not None:
            before()
        os.unlink(FILLER)
        freed.append(time.monotonic())
    freed = []
    threading.Thread(target=free).start()
    return freed
'''


def small_disk_command(aero_init, tmp_path, code, *extra, size="4m"):
    """The command and environment that run code under aero-init with its run
    directory on a tmpfs of size, in a mount namespace of its own; the run
    directory is copied to tmp_path/"run" when aero-init has ended."""
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "experiment.py"
    script.write_text(HELPERS + code)
    run_dir = disk / "run"
    shell = ('disk=$2; copy=$3; '
             'mount -t tmpfs -o size="$1" aero-test-disk "$disk" && mkdir "$disk/run" || exit 99; '
             'shift 3; "$@"; status=$?; rm -f "$disk/run/filler"; cp -a "$disk/run" "$copy"; '
             'exit $status')
    cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c", shell, "sh", size,
           str(disk), str(tmp_path / "run"), aero_init, "-s", "1", "--run-dir", str(run_dir),
           *extra, "--", sys.executable, str(script)]
    return cmd, clean_env({"PYTHONPATH": CLIENT_PATH, "RUN": str(run_dir)})


def run_on_small_disk(aero_init, tmp_path, code, *extra, size="4m", timeout=120):
    cmd, env = small_disk_command(aero_init, tmp_path, code, *extra, size=size)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert r.returncode != 99, r.stderr
    return r


def rows(tmp_path):
    with open(tmp_path / "run" / "metrics.jsonl") as f:
        return [json.loads(line) for line in f]


def said_full(stderr):
    return len(re.findall(r"the disk under the run directory \S+ is full \(\S+: No space left "
                          r"on device\); free space on it", stderr))


def test_records_wait_for_room_and_arrive_once_in_order(aero_init, tmp_path):
    """The Python client logs 300 records of 200 bytes on a full disk (the
    slack of the file's last block takes the first few): a call blocks (it is
    not refused) until the experiment frees the disk 2 s later, and then every
    record is on disk once, in order."""
    code = r'''
import aeromancy
aeromancy.log({"i": -1})  # the channel is open before the disk fills
fill()
freed = free_later(2)
slowest = (0, 0)
for i in range(300):
    start = time.monotonic()
    aeromancy.log({"i": i, "pad": "x" * 200})
    slowest = max(slowest, (time.monotonic() - start, time.monotonic()))
print(json.dumps({"slowest_call_s": slowest[0], "returned_after_free": slowest[1] >= freed[0]}))
'''
    r = run_on_small_disk(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["slowest_call_s"] >= 1.5 and result["returned_after_free"], result
    assert [row["i"] for row in rows(tmp_path)] == list(range(-1, 300))
    assert said_full(r.stderr) == 1, r.stderr
    assert "the experiment goes on" in r.stderr.lower()
    assert re.search(r"has room again \(after \d+\.\d s\); everything that waited is written",
                     r.stderr), r.stderr
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["state"] == "finished"


def test_a_pipelining_writer_blocks_and_memory_stays_bounded(aero_init, tmp_path):
    """A writer that never waits for answers sends 20,000 records of 1 KiB
    (20 MB of rows) onto a full disk: aero-init keeps at most 4 MiB of them,
    then stops reading, so the writer's sendall blocks until the disk has room;
    every answer is ok, every row arrives, aero-init's peak RSS stays small."""
    code = r'''
import socket
fill()
freed = free_later(3)
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["AERO_SOCKET"])
n = 20000
pad = "x" * 1000
sent = []
def write():
    s.sendall(b"".join(b'{"type":"log","data":{"i":%d,"pad":"%s"}}\n' % (i, pad.encode())
                       for i in range(n)))
    sent.append(time.monotonic())
t = threading.Thread(target=write)
t.start()
f = s.makefile("rb")
oks = sum(1 for _ in range(n) if f.readline() == b'{"ok":true}\n')
t.join()
with open("/proc/%d/status" % os.getppid()) as status:
    peak = [int(l.split()[1]) for l in status if l.startswith("VmHWM:")][0]
print(json.dumps({"oks": oks, "sent_after_free": sent[0] > freed[0], "peak_kib": peak}))
'''
    r = run_on_small_disk(aero_init, tmp_path, code, size="40m")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["oks"] == 20000 and result["sent_after_free"], result
    if not SANITIZED:  # AddressSanitizer's shadow memory would count
        assert result["peak_kib"] < 16 * 1024, result
    assert [row["i"] for row in rows(tmp_path)] == list(range(20000))
    assert said_full(r.stderr) == 1, r.stderr
    assert re.search(r"4\.\d MiB of the experiment's records wait for room on the disk under "
                     r"\S+; its writes to the channel block", r.stderr), r.stderr
    assert "has room again" in r.stderr


def test_a_short_write_never_leaves_half_a_row(aero_init, tmp_path):
    """3,000 records of 1 KiB wait on a full disk; then 1 MiB is freed, so the
    next write of the 3 MB waiting stops part-way, inside a row: the part of
    that row that went is cut off again, so a reader sees only whole rows.
    Then the rest is freed, and every row arrives once, in order."""
    code = r'''
import socket
small = os.path.join(RUN, "small-filler")
with open(small, "wb") as f:
    f.write(b"\0" * (1 << 20))
fill()
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["AERO_SOCKET"])
n = 3000
pad = "x" * 1000
s.sendall(b"".join(b'{"type":"log","data":{"i":%d,"pad":"%s"}}\n' % (i, pad.encode())
                   for i in range(n)))
time.sleep(0.5)
os.unlink(small)
deadline = time.monotonic() + 30
while os.path.getsize(os.path.join(RUN, "metrics.jsonl")) == 0 and time.monotonic() < deadline:
    time.sleep(0.05)  # the next try (every 0.2 s) writes what fits
time.sleep(0.5)  # and a few more tries, which the disk refuses
with open(os.path.join(RUN, "metrics.jsonl"), "rb") as f:
    partial = f.read()
os.unlink(FILLER)
f = s.makefile("rb")
oks = sum(1 for _ in range(n) if f.readline() == b'{"ok":true}\n')
print(json.dumps({"oks": oks, "partial": partial.decode()}))
'''
    r = run_on_small_disk(aero_init, tmp_path, code, size="8m")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["oks"] == 3000
    partial = result["partial"]
    assert partial.endswith("\n")
    seen = [json.loads(line)["i"] for line in partial.splitlines()]
    assert 0 < len(seen) < 3000 and seen == list(range(len(seen)))
    assert [row["i"] for row in rows(tmp_path)] == list(range(3000))
    assert "has room again" in r.stderr


def test_summary_keeps_its_previous_version_on_a_full_disk(aero_init, tmp_path):
    """A summary sent while the disk is full leaves summary.json as it was
    (whole, no temporary file left), and lands once there is room."""
    code = r'''
import aeromancy
aeromancy.summary({"a": 1})
fill()
seen = []
def look():
    seen.append(sorted(os.listdir(RUN)))
    with open(os.path.join(RUN, "summary.json")) as f:
        seen.append(f.read())
freed = free_later(2, before=look)
aeromancy.summary({"b": 2})
print(json.dumps({"files": seen[0], "summary": seen[1], "after_free": time.monotonic() >= freed[0]}))
'''
    r = run_on_small_disk(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert json.loads(result["summary"]) == {"a": 1}
    assert not [f for f in result["files"] if ".tmp" in f], result["files"]
    assert result["after_free"]
    assert json.loads((tmp_path / "run" / "summary.json").read_text()) == {"a": 1, "b": 2}
    assert said_full(r.stderr) == 1 and "has room again" in r.stderr, r.stderr


def test_a_disk_full_to_the_end_loses_nothing_acknowledged(aero_init, tmp_path):
    """The disk fills after 5 acknowledged records and stays full: a thread
    logs on until a record is not acknowledged (the slack of the file's last
    block takes a few); the experiment's output still passes through;
    aero-init waits (the grace period, 1 s), names the record it could not
    write and exits 74. Every acknowledged record is on disk."""
    code = r'''
import aeromancy
for i in range(5):
    aeromancy.log({"i": i})
    print("acked", i, flush=True)
fill()
def more():
    for i in range(5, 1000):
        aeromancy.log({"i": i, "pad": "x" * 100})
        print("acked", i, flush=True)
threading.Thread(target=more, daemon=True).start()
time.sleep(1)
print("the experiment is done", "z" * 8192, flush=True)  # more than a block's slack
os._exit(0)
'''
    r = run_on_small_disk(aero_init, tmp_path, code, "--grace", "1s")
    assert r.returncode == 74, r.stderr
    acked = [int(line.split()[1]) for line in r.stdout.splitlines() if line.startswith("acked")]
    assert acked == list(range(len(acked))) and 5 <= len(acked) < 1000
    assert "the experiment is done" in r.stdout  # passed through with output.log full
    on_disk = [row["i"] for row in rows(tmp_path)]
    # The last acknowledgement may have come just before os._exit, unprinted.
    assert on_disk[:len(acked)] == acked and len(on_disk) - len(acked) in (0, 1)
    assert said_full(r.stderr) == 1, r.stderr
    assert "waiting up to 1000 ms" in r.stderr
    assert re.search(r"could not write to the run directory \S+, whose disk has no room: "
                     r"1 row of metrics.jsonl \(step %d\), the latest run.json" % len(on_disk),
                     r.stderr), r.stderr
    assert "none of these was acknowledged" in r.stderr
    assert "exiting with status 74 instead of the experiment's 0" in r.stderr
    assert "could not be recorded in output.log" in r.stderr
    assert "has room again" not in r.stderr


def test_sigterm_ends_the_wait_for_room(aero_init, tmp_path):
    """At the end, aero-init waits up to the grace period (here 60 s) for room;
    SIGTERM (docker stop) ends that wait at once, with the same message and
    status."""
    code = r'''
import aeromancy
aeromancy.log({"i": 0})
fill()
def more():
    for i in range(1, 1000):
        aeromancy.log({"i": i, "pad": "x" * 100})
threading.Thread(target=more, daemon=True).start()
time.sleep(0.5)
os._exit(0)
'''
    cmd, env = small_disk_command(aero_init, tmp_path, code, "--grace", "60s")
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         env=env)
    try:
        said = ""
        while "waiting up to 60000 ms" not in said:
            line = p.stderr.readline()
            assert line, said
            said += line
        # unshare execs sh, whose child is aero-init.
        (aero,) = children_of(p.pid)
        asked = time.monotonic()
        os.kill(aero, signal.SIGTERM)
        said += p.stderr.read()
        assert p.wait(timeout=30) == 74, said
        assert time.monotonic() - asked < 10
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "asked to stop: no more waiting for room on the disk" in said
    assert re.search(r"1 row of metrics.jsonl \(step \d+\)", said), said
    assert "exiting with status 74" in said


def test_console_output_flows_and_its_loss_is_counted(aero_init, tmp_path):
    """3 MiB of output printed on a full disk all passes through; output.log
    keeps what it can (1 MiB waits, the rest is counted and reported), and
    records again once there is room."""
    code = r'''
fill()
line = "y" * 1023
for i in range(3 * 1024):
    print(i, line, flush=(i % 64 == 0))
sys.stdout.flush()
freed = free_later(0.5)
time.sleep(1.5)
print("after", flush=True)
'''
    r = run_on_small_disk(aero_init, tmp_path, code, size="8m")
    assert r.returncode == 0, r.stderr
    printed = r.stdout.splitlines()
    assert len(printed) == 3 * 1024 + 1 and printed[-1] == "after"
    assert [int(line.split()[0]) for line in printed[:-1]] == list(range(3 * 1024))
    logged = (tmp_path / "run" / "output.log").read_text().splitlines()
    texts = [line.split(" ", 2)[2] for line in logged]
    assert texts[-1] == "after"
    kept = [int(t.split()[0]) for t in texts[:-1]]
    assert kept == sorted(kept) and len(set(kept)) == len(kept)  # in order, none twice
    lost = 3 * 1024 - len(kept)
    assert 0 < lost < 3 * 1024
    assert ("%d lines of the experiment's output" % lost) in r.stderr, r.stderr
    assert "were passed on but not recorded in output.log" in r.stderr
    assert "has room again" in r.stderr
