"""Console capture: with a run directory, the experiment's stdout and stderr
pass through aero-init unchanged and are recorded in output.log, one
time-stamped record per line (doc/channel.md)."""
import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import clean_env, memcheck, wait_until
from test_init_tty import Terminal, shell_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT_PATH = os.path.join(ROOT, "image", "python")
RECORD = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) (out|err)(\+?) (.*)")
LINE_MAX = 64 * 1024


def python(code, *args):
    return [sys.executable, "-c", code, *args]


def start(aero_init, run_dir, command, *extra, env=None, **popen):
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    popen.setdefault("stdin", subprocess.DEVNULL)
    args = [aero_init, "--no-capture", "--system-interval=0"]
    if run_dir is not None:
        args += ["--run-dir", str(run_dir)]
    return subprocess.Popen(args + list(extra) + ["--"] + command,
                            env=clean_env(env), **popen)


def run(aero_init, run_dir, command, *extra, env=None, timeout=60):
    proc = start(aero_init, run_dir, command, *extra, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        proc.kill()
        proc.wait()
    return proc.returncode, out, err


def records(run_dir):
    """output.log as (time, stream, continued, text) tuples; it must be UTF-8."""
    with open(os.path.join(run_dir, "output.log"), "rb") as f:
        text = f.read().decode("utf-8")  # strict: anything invalid fails here
    assert text == "" or text.endswith("\n")
    got = []
    for line in text.split("\n")[:-1]:
        m = RECORD.fullmatch(line)
        assert m, "not a record: %r" % line
        when = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ")
        got.append((when, m.group(2), m.group(3) == "+", m.group(4)))
    return got


def texts(recs, stream):
    return [(text, continued) for (_, s, continued, text) in recs if s == stream]


def as_recorded(raw):
    """What output.log holds for raw bytes: invalid UTF-8 and NUL as U+FFFD."""
    return raw.decode("utf-8", "replace").replace("\0", "\ufffd")


def run_json(run_dir):
    with open(os.path.join(run_dir, "run.json")) as f:
        return json.load(f)


OUT = [b"hello\n", b"\xff\xfe bad \xe2\x82 x\x00y\n", b"tab\there \x1b[31mred\x1b[0m\r\n",
       b"caf\xc3\xa9 \xf0\x9f\x98\x80 \xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80 \xf0\x9f\x98\n",
       b"no newline at the end"]
ERR = [b"oops\n", b"\x80 lone continuation\n", b"last, unfinished"]


@memcheck
def test_streams_pass_through_byte_exact_and_are_recorded(aero_init, tmp_path):
    code = """
import os, sys, time
for out, err in zip(%r, %r + [b""] * 10):
    os.write(1, out); os.write(2, err); time.sleep(0.01)
""" % (OUT, ERR)
    before = datetime.datetime.utcnow()
    status, out, err = run(aero_init, tmp_path, python(code))
    after = datetime.datetime.utcnow()
    assert status == 0, err
    assert out == b"".join(OUT)
    assert err == b"".join(ERR)
    recs = records(tmp_path)
    assert texts(recs, "out") == [(as_recorded(line.rstrip(b"\n")), not line.endswith(b"\n"))
                                  for line in OUT]
    assert texts(recs, "err") == [(as_recorded(line.rstrip(b"\n")), not line.endswith(b"\n"))
                                  for line in ERR]
    stamps = [r[0] for r in recs]
    assert stamps == sorted(stamps)
    slack = datetime.timedelta(seconds=1)
    assert before - slack <= stamps[0] and stamps[-1] <= after + slack
    assert "\ufffd\ufffd bad \ufffd x\ufffdy" in [r[3] for r in recs]  # one per bad sequence


def test_experiment_gets_pipes_and_nothing_else(aero_init, tmp_path):
    code = """
import os
fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
print(fds[:-1], os.readlink("/proc/self/fd/1")[:6], os.readlink("/proc/self/fd/2")[:6],
      os.fstat(1).st_ino != os.fstat(2).st_ino)
"""
    status, out, err = run(aero_init, tmp_path, python(code))
    assert status == 0, err
    # the listing's own descriptor is the last one
    assert out == b"[0, 1, 2] pipe:[ pipe:[ True\n"


@memcheck
def test_partial_line_is_recorded_after_a_second(aero_init, tmp_path):
    """A progress bar that redraws with \\r and never ends its line: after 1 s
    what came is recorded as `out+`, and output.log can be read meanwhile."""
    code = r"""
import os, sys, time
log = os.path.join(sys.argv[1], "output.log")
os.write(1, b"progress 10%\r")
time.sleep(0.5)
early = open(log, "rb").read()
time.sleep(1.1)
late = open(log, "rb").read()
os.write(1, b"progress 20%\r")
time.sleep(1.6)
os.write(1, b"done\n")
os.write(2, b"early %r late %r\n" % (early, late))
"""
    status, out, err = run(aero_init, tmp_path, python(code, str(tmp_path)))
    assert status == 0, err
    assert out == b"progress 10%\rprogress 20%\rdone\n"
    # not yet after 0.5 s; after 1 s, and readable while the run goes on
    assert err.startswith(b"early b'' late b'20") and err.endswith(b"Z out+ progress 10%\\r\\n'\n")
    recs = records(tmp_path)
    assert texts(recs, "out") == [("progress 10%\r", True), ("progress 20%\r", True),
                                  ("done", False)]
    # the second partial was cut by the clock, not by the newline 1.6 s later
    assert (recs[2][0] - recs[1][0]).total_seconds() > 0.3


LONG_LINES = """
ascii_line = b"a" * (3 * 65536 + 100) + b"\\n"
euro_line = "\\u20ac".encode() * 30000 + b"\\n"  # 3-byte characters across each cut
exact = b"b" * 65536 + b"\\n"  # exactly as long as a record may be: one record
parts = [ascii_line, euro_line[:50000], euro_line[50000:], exact]
"""


def test_a_long_line_is_cut_into_records_without_splitting_characters(aero_init, tmp_path):
    code = LONG_LINES + "import os\nfor part in parts:\n    os.write(1, part)\n"
    status, out, err = run(aero_init, tmp_path, python(code))
    assert status == 0, err
    scope = {}
    exec(LONG_LINES, scope)
    assert out == b"".join(scope["parts"])
    recs = texts(records(tmp_path), "out")
    assert [len(t) for t, _ in recs[:4]] == [LINE_MAX] * 3 + [100]
    assert [c for _, c in recs[:4]] == [True, True, True, False]
    euro = recs[4:-1]
    assert [c for _, c in euro] == [True] * (len(euro) - 1) + [False]
    assert all(len(t.encode()) <= LINE_MAX and "\ufffd" not in t for t, _ in euro)
    assert "".join(t for t, _ in euro) == "\u20ac" * 30000
    assert recs[-1] == ("b" * LINE_MAX, False)


@memcheck
@pytest.mark.parametrize("pid1", [False, True], ids=["subreaper", "pid1"])
def test_killed_experiment_keeps_its_last_words(aero_init, tmp_path, pid1):
    """Killed with 600 KiB still in its pipe, because nobody read aero-init's
    stdout for a second: that and the unfinished last line still pass through
    and are recorded, and run.json says how the run ended."""
    code = """
import os, signal
lines = b"".join(b"line %06d\\n" % i for i in range(50000))
os.write(1, lines + b"half a li")
os.write(2, b"to stderr\\n")
os.kill(os.getpid(), signal.SIGKILL)
"""
    prefix = ["unshare", "--pid", "--fork", "--mount-proc"] if pid1 else []
    proc = subprocess.Popen(prefix + [aero_init, "--no-capture", "--run-dir", str(tmp_path),
                                      "--", sys.executable, "-c", code],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=clean_env())
    try:
        time.sleep(1)  # the experiment dies while aero-init cannot pass its output on
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 137, err
    lines = ["line %06d" % i for i in range(50000)]
    assert out == "".join(line + "\n" for line in lines).encode() + b"half a li"
    recs = records(tmp_path)
    assert texts(recs, "out") == [(line, False) for line in lines] + [("half a li", True)]
    assert texts(recs, "err") == [("to stderr", False)]
    outcome = run_json(tmp_path)
    assert outcome["state"] == "killed" and outcome["exit_status"] == 137
    assert outcome["signal"] == "SIGKILL"


@memcheck
def test_a_descendant_holding_stdout_does_not_hang_aero_init(aero_init, tmp_path):
    """A worker that ignores SIGTERM keeps the pipe open after the main process
    exits: it gets the grace period, then SIGKILL, and aero-init ends."""
    code = r"""
import os, signal, sys, time
if os.fork() == 0:
    signal.signal(signal.SIGTERM, lambda *_: os.write(1, b"worker: not yet\n"))
    os.write(1, b"worker started\n")
    while True:
        time.sleep(0.1)
time.sleep(0.3)
print("main done", flush=True)
"""
    began = time.monotonic()
    status, out, err = run(aero_init, tmp_path, python(code), "--grace=1", timeout=30)
    elapsed = time.monotonic() - began
    assert status == 0, err
    assert elapsed < 6, elapsed
    lines = [t for t, _ in texts(records(tmp_path), "out")]
    assert lines == ["worker started", "main done", "worker: not yet"]
    assert out == b"worker started\nmain done\nworker: not yet\n"


def test_closed_stdout_is_still_recorded(aero_init, tmp_path):
    """The reader of aero-init's stdout is gone: the experiment (a shell,
    which dies of SIGPIPE) is not killed by the SIGPIPE that aero-init gets, its
    output is recorded, and aero-init exits with its status."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    script = ("echo line 0; sleep 0.5; i=1; while [ $i -lt 20000 ]; do echo line $i; "
              "i=$((i+1)); done; echo finished >&2; exit 3")
    proc = start(aero_init, tmp_path, ["sh", "-c", script], stdout=write_end)
    os.close(write_end)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert err == b"finished\n"  # no complaint: a pipeline's reader may go early
    assert texts(records(tmp_path), "out") == [("line %d" % i, False) for i in range(20000)]
    assert run_json(tmp_path)["exit_status"] == 3


def test_slow_reader_holds_up_only_the_experiment(aero_init, tmp_path):
    """Nobody reads aero-init's stdout for a while: the experiment blocks in
    write, as without aero-init, while signals are still forwarded and the
    metric channel still answers. Then everything arrives, byte-exact."""
    size = 8 << 20
    code = r"""
import os, signal, sys, threading, time
import aeromancy
marker = sys.argv[1]
def on_usr1(*_):
    aeromancy.log({"while_blocked": 1})  # needs the channel while stdout is stuck
    open(marker, "w").close()
signal.signal(signal.SIGUSR1, on_usr1)
os.write(2, b"ready\n")
data = b"".join(b"%09d\n" % i for i in range(SIZE // 10))
view = memoryview(data)
while view:
    view = view[os.write(1, view):]
""".replace("SIZE", str(size))
    marker = tmp_path / "got-usr1"
    proc = start(aero_init, tmp_path / "run", python(code, str(marker)),
                 env={"PYTHONPATH": CLIENT_PATH})
    try:
        assert proc.stderr.readline() == b"ready\n"
        time.sleep(1)  # the pipes fill up; the experiment blocks
        assert proc.poll() is None
        proc.send_signal(signal.SIGUSR1)
        wait_until(marker.exists, timeout=10, what="the forwarded SIGUSR1 and the metric")
        out = proc.stdout.read()
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0
    assert out == b"".join(b"%09d\n" % i for i in range(size // 10))
    assert len(texts(records(tmp_path / "run"), "out")) == size // 10
    with open(tmp_path / "run" / "metrics.jsonl") as f:
        assert json.loads(f.readline())["while_blocked"] == 1


def test_the_pipe_to_the_reader_gets_room(aero_init, tmp_path):
    """aero-init gives the pipe its stdout is (docker's, a shell pipeline's) 1
    MiB of room, as it gives the experiment's, so that tee(2) passes up to that
    much per wake-up of aero-init and the reader rather than 64 KiB; a pipe
    that has more already keeps it."""
    import fcntl
    with open("/proc/sys/fs/pipe-max-size") as f:
        allowed = int(f.read())
    want = 1 << 20 if os.geteuid() == 0 else min(1 << 20, allowed)
    for before in (None, 2 << 20):
        read_end, write_end = os.pipe()
        if before is not None:
            try:
                fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, before)
            except OSError:  # not allowed more than the limit: nothing to keep
                os.close(read_end)
                os.close(write_end)
                continue
        proc = start(aero_init, tmp_path / ("run-%s" % before),
                     python("import sys; print('ready', flush=True); sys.stdin.read()"),
                     stdout=write_end, stdin=subprocess.PIPE)
        os.close(write_end)
        try:
            got = b""
            while not got.endswith(b"\n"):
                got += os.read(read_end, 64)
            assert got == b"ready\n"
            size = fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ)
            proc.stdin.close()
            proc.wait(timeout=30)
        finally:
            proc.kill()
            proc.wait()
            os.close(read_end)
        assert proc.returncode == 0
        assert size == (want if before is None else before)


@pytest.mark.parametrize("kind", ["file", "socket"])
def test_stdout_that_is_not_a_pipe(aero_init, tmp_path, kind):
    lines = b"".join(b"line %d\n" % i for i in range(50000)) + b"end"
    code = ("import os\nview = memoryview(b''.join(b'line %d\\n' % i for i in range(50000)) "
            "+ b'end')\nwhile view:\n    view = view[os.write(1, view):]\n")
    if kind == "file":
        with open(tmp_path / "stdout", "wb") as f:
            proc = start(aero_init, tmp_path / "run", python(code), stdout=f)
        proc.communicate(timeout=60)
        got = (tmp_path / "stdout").read_bytes()
    else:
        ours, theirs = socket.socketpair()
        proc = start(aero_init, tmp_path / "run", python(code), stdout=theirs)
        theirs.close()
        got = b""
        while True:
            chunk = ours.recv(1 << 16)
            if not chunk:
                break
            got += chunk
            time.sleep(0.001)  # a slow reader, so that sends would block
        proc.communicate(timeout=60)
        ours.close()
    assert proc.returncode == 0
    assert got == lines
    recs = texts(records(tmp_path / "run"), "out")
    assert len(recs) == 50001 and recs[-1] == ("end", True)


def test_console_off_and_no_run_dir_leave_the_streams_alone(aero_init, tmp_path):
    code = "import os; print(os.readlink('/proc/self/fd/1'))"
    target = tmp_path / "stdout"
    no_record = ["--no-record"] if b"--no-record" in subprocess.run(
        [aero_init, "--help"], capture_output=True).stdout else []
    cases = [(tmp_path / "a", ["--console=off"], {}),
             (tmp_path / "b", [], {"AERO_CONSOLE": "off"}),
             (None, no_record, {})]
    for run_dir, extra, env in cases:
        with open(target, "wb") as f:
            proc = start(aero_init, run_dir, python(code), *extra, env=env, stdout=f)
            proc.communicate(timeout=60)
        assert proc.returncode == 0
        assert target.read_text() == str(target) + "\n"  # the file itself, not a pipe
        if run_dir is not None:
            assert (run_dir / "manifest.json").exists()
            assert not (run_dir / "output.log").exists()
    with open(target, "wb") as f:  # and on, it is a pipe: the test can tell
        proc = start(aero_init, tmp_path / "c", python(code), "--console=on", stdout=f)
        proc.communicate(timeout=60)
    assert target.read_text().startswith("pipe:[")


def test_bad_console_setting(aero_init, tmp_path):
    status, _, err = run(aero_init, tmp_path, ["true"], "--console=maybe")
    assert status == 125 and b"--console: 'maybe' is not a boolean" in err
    status, _, err = run(aero_init, tmp_path, ["true"], env={"AERO_CONSOLE": "loud"})
    assert status == 125 and b"AERO_CONSOLE: 'loud' is not a boolean" in err


def test_a_terminal_is_not_captured_and_job_control_still_works(aero_init, tmp_path):
    if not os.path.exists("/bin/bash"):
        pytest.skip("bash is needed for the job-control test")
    term = Terminal(["bash", "--norc", "--noprofile", "-i"], shell_env())
    term.expect("prompt$ ")
    term.send("%s -v --no-capture --run-dir %s -- sh -c 'tty; echo started; sleep 30'\n"
              % (aero_init, tmp_path))
    term.expect("started")
    time.sleep(0.3)
    term.send("\x1a")  # Ctrl-Z stops the job
    term.expect("Stopped")
    term.send("fg\n")
    time.sleep(0.5)
    term.send("\x03")  # Ctrl-C reaches the experiment in the foreground
    term.send("echo status=$?\n")
    term.expect("status=130")
    term.send("exit 0\n")
    assert term.close() == 0
    assert b"/dev/pts/" in term.seen  # the experiment's stdout is the terminal itself
    assert b"standard output and error are a terminal, so not recorded" in term.seen
    assert not (tmp_path / "output.log").exists()
