"""The metric channel and the local sink: records sent by any descendant over
AERO_SOCKET are written to the run directory, then acknowledged; bad records
are refused with a reason and change nothing else."""
import json
import os
import subprocess
import sys

import pytest

from conftest import SANITIZED, clean_env, memcheck

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT_PATH = os.path.join(ROOT, "image", "python")


def run_python(aero_init, run_dir, code, *extra, timeout=120):
    env = clean_env({"PYTHONPATH": CLIENT_PATH})
    return subprocess.run([aero_init, "-s", "1", "--run-dir", str(run_dir), *extra, "--",
                           sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=env)


def rows(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


@memcheck
def test_python_client_records_everything(aero_init, tmp_path):
    code = """
import aeromancy
aeromancy.config({"lr": 0.0003, "layers": 4})
aeromancy.log({"loss": 0.5})
aeromancy.log({"loss": 0.4, "acc": 0.8})
aeromancy.log({"loss": 0.3}, step=10)
aeromancy.log({"loss": float("nan")})
aeromancy.summary({"best_loss": 0.3})
aeromancy.summary({"epochs": 3})
aeromancy.tags("baseline", "cpu")
aeromancy.notes("first try")
"""
    r = run_python(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    got = rows(tmp_path)
    assert [row["_step"] for row in got] == [0, 1, 10, 11]
    assert got[1]["acc"] == 0.8 and got[2]["loss"] == 0.3 and got[3]["loss"] == "NaN"
    assert all(row["_runtime"] >= 0 and row["_timestamp"] > 1.7e9 for row in got)
    assert json.loads((tmp_path / "summary.json").read_text()) == {"best_loss": 0.3, "epochs": 3}
    assert json.loads((tmp_path / "config.json").read_text()) == {"lr": 0.0003, "layers": 4}
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["tags"] == ["baseline", "cpu"] and run["notes"] == "first try"
    assert run["state"] == "finished"
    assert not (tmp_path / "aero.sock").exists()  # removed at the end


def test_records_alike_but_for_their_numbers(aero_init, tmp_path):
    """Records of one shape take the fast path (lib/jsonshape.c) once the first
    is scanned: numbers of the same and of other lengths are recorded as sent,
    and a number that is not JSON's, in a record otherwise alike, is refused
    exactly as the full scan refuses it, without changing what follows."""
    code = r"""
import socket, os, json
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["AERO_SOCKET"])
lines = [
    '{"type":"log","data":{"loss":0.5,"acc":0.25,"n":[1,2]},"step":10}',
    '{"type":"log","data":{"loss":0.7,"acc":0.75,"n":[3,4]},"step":11}',
    '{"type":"log","data":{"loss":0.125,"acc":1e-3,"n":[-5,60]},"step":12}',
    '{"type":"log","data":{"loss":0.5,"acc":0.25,"n":[1,2]},"step":013}',
    '{"type":"log","data":{"loss":0.5,"acc":0.25,"n":[1,2.]},"step":13}',
    '{"type":"log","data":{"loss":0.5,"acc":0.25,"n":[1,2]},"step":9}',
    '{"type":"log","data":{"loss":1.5,"acc":2.25,"n":[7,8]},"step":13}',
    '{"type":"log","data":{"loss":"high","acc":2.25,"n":[7,8]},"step":14}',
    '{"type":"log","data":{"loss":2.5,"acc":3.25,"n":[9,10]},"step":15}',
]
s.sendall("".join(l + "\n" for l in lines).encode())
f = s.makefile("rb")
print(json.dumps([json.loads(f.readline()) for _ in lines]))
"""
    r = run_python(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    answers = json.loads(r.stdout)
    assert [a["ok"] for a in answers] == [True, True, True, False, False, False, True, True, True]
    assert answers[3]["error"].startswith("not a JSON object: ")
    assert answers[4]["error"].startswith("not a JSON object: ")
    assert answers[5]["error"] == "step 9 comes before step 12, logged already"
    got = rows(tmp_path)
    assert [(row["_step"], row["loss"], row["acc"], row["n"]) for row in got] == [
        (10, 0.5, 0.25, [1, 2]), (11, 0.7, 0.75, [3, 4]), (12, 0.125, 0.001, [-5, 60]),
        (13, 1.5, 2.25, [7, 8]), (14, "high", 2.25, [7, 8]), (15, 2.5, 3.25, [9, 10])]


def test_a_pipelining_client_gets_every_answer(aero_init, tmp_path):
    """A client that sends a million records without waiting, reading the
    answers as they come (bench/metrics.py's writer): every record is written
    and answered, although answers back up behind the writes on aero-init's
    thread and lines wait in its carry meanwhile. (A stress check; the case
    where the last lines waited in the carry with no event to come for them,
    which hung about one run in twenty of two million records, is forced by
    test_lines_left_when_answers_backed_up_are_handled.)"""
    writer = os.path.join(ROOT, "build", "bench", "metrics_writer")
    if not os.path.exists(writer):
        pytest.skip("build/bench/metrics_writer is not built (make bench builds it)")
    r = subprocess.run([aero_init, "--no-capture", "-s", "1", "--run-dir", str(tmp_path), "--",
                        writer, "1000000", "1"],
                       capture_output=True, text=True, timeout=60, env=clean_env())
    assert r.returncode == 0, r.stderr
    with open(os.path.join(tmp_path, "metrics.jsonl"), "rb") as f:
        assert sum(1 for _ in f) == 1000000


def test_lines_left_when_answers_backed_up_are_handled(aero_init, tmp_path):
    """More records arrive in one read than 64 KiB of answers cover: aero-init
    handles them until the answers back up, keeps the rest in the client's
    carry, and once the answers have gone (after the batch's write) handles
    the rest at once, although no further event will come for them: the
    client sent everything and waits. aero-init is stopped while the client
    sends, so that all of it is in one read. (Before the fix, the last 538
    records were never answered and the client hung.)"""
    code = r"""
import os, signal, socket, sys, time
parent = os.getppid()
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["AERO_SOCKET"])
s.sendall(b'{"type":"log","data":{"x":0}}\n')
assert s.recv(64) == b'{"ok":true}\n'
os.kill(parent, signal.SIGSTOP)
try:
    while open("/proc/%d/stat" % parent).read().rsplit(")", 1)[1].split()[0] != "T":
        time.sleep(0.01)
    data = b'{"type":"log","data":{"x":1}}\n' * 6000  # 180 KB; 72 KB of answers
    s.setblocking(False)
    sent = 0
    while sent < len(data):
        try:
            sent += s.send(data[sent:])
        except BlockingIOError:
            sys.exit("the socket's buffer took %d bytes of %d" % (sent, len(data)))
finally:
    os.kill(parent, signal.SIGCONT)
s.setblocking(True)
s.settimeout(10)
got = b""
while got.count(b"\n") < 6000:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
print(got.count(b'{"ok":true}\n'))
"""
    r = run_python(aero_init, tmp_path, code, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "6000\n"
    assert len(rows(tmp_path)) == 6001


def test_records_are_readable_while_the_run_goes_on(aero_init, tmp_path):
    code = """
import aeromancy, json, os
aeromancy.log({"x": 1})
with open(os.path.join(os.environ["AERO_RUN_DIR_TEST"], "metrics.jsonl")) as f:
    print(json.loads(f.readline())["x"])
"""
    env_dir = str(tmp_path)
    r = subprocess.run([aero_init, "--run-dir", env_dir, "--", sys.executable, "-c", code],
                       capture_output=True, text=True, timeout=60,
                       env=clean_env({"PYTHONPATH": CLIENT_PATH, "AERO_RUN_DIR_TEST": env_dir}))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "1\n"  # acknowledged means on disk


@memcheck
def test_many_writers_lose_nothing(aero_init, tmp_path):
    """Eight worker processes, forked after the parent logged (so each must
    open its own connection), 250 rows each, logged concurrently."""
    code = """
import aeromancy, os
aeromancy.log({"writer": -1, "i": -1})
pids = []
for w in range(8):
    pid = os.fork()
    if pid == 0:
        for i in range(250):
            aeromancy.log({"writer": w, "i": i}, step=0)
        os._exit(0)
    pids.append(pid)
for pid in pids:
    assert os.waitpid(pid, 0)[1] == 0
"""
    r = run_python(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    got = [(row["writer"], row["i"]) for row in rows(tmp_path)]
    assert len(got) == 1 + 8 * 250
    assert set(got) == {(-1, -1)} | {(w, i) for w in range(8) for i in range(250)}
    for w in range(8):  # each writer's rows in its own order
        mine = [i for (writer, i) in got if writer == w]
        assert mine == list(range(250))


@memcheck
def test_bad_records_are_refused_and_change_nothing_else(aero_init, tmp_path):
    code = r"""
import socket, os, json
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["AERO_SOCKET"])
f = s.makefile("rwb")
def send(raw):
    f.write(raw + b"\n"); f.flush(); return json.loads(f.readline())
answers = [
    send(b'{"type":"log","data":{"ok":1}}'),
    send(b'not json'),
    send(b'{"type":"log","data":[1,2]}'),
    send(b'{"type":"log","data":{"_step":3}}'),
    send(b'{"type":"fly","data":{}}'),
    send(b'{"type":"log","data":{"a":1},"step":-1}'),
    send(b'{"type":"tags","tags":[1]}'),
    send(b'{"type":"log","data":{"x":"' + b"y" * (1024 * 1024 + 10) + b'"}}'),
    send(b'{"type":"log","data":{"ok":2}}'),
]
print(json.dumps(answers))
"""
    r = run_python(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    answers = json.loads(r.stdout)
    assert [a["ok"] for a in answers] == [True] + [False] * 7 + [True]
    errors = [a["error"] for a in answers[1:8]]
    assert errors == ["not a JSON object: an unexpected character at byte 1",
                      "\"data\" must be an object",
                      "keys starting with '_' are reserved",
                      "unknown \"type\" (use log, summary, config, tags, notes or artifact)",
                      "step must be a whole number from 0", "\"tags\" must be a list of strings",
                      "message longer than 1048576 bytes"]
    assert [row["ok"] for row in rows(tmp_path)] == [1, 2]
    assert "7 records from the experiment were refused" in r.stderr


@memcheck
def test_records_sent_just_before_exit_are_kept(aero_init, tmp_path):
    code = """
import socket, os
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["AERO_SOCKET"])
s.sendall(b'{"type":"log","data":{"last":1}}\\n' * 100)
os._exit(0)  # no waiting for acknowledgements
"""
    r = run_python(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    assert len(rows(tmp_path)) == 100


@memcheck
def test_backpressure_instead_of_loss(aero_init, tmp_path):
    """A writer that sends 20,000 records before reading a single
    acknowledgement: aero-init stops reading it while acknowledgements pile up,
    and every record still arrives."""
    code = """
import socket, os, threading
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["AERO_SOCKET"])
n = 20000
def write():
    s.sendall(b"".join(b'{"type":"log","data":{"i":%d}}\\n' % i for i in range(n)))
t = threading.Thread(target=write); t.start()
import time; time.sleep(1)
f = s.makefile("rb")
acks = sum(1 for _ in range(n) if f.readline() == b'{"ok":true}\\n')
t.join()
print(acks)
"""
    r = run_python(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "20000"
    assert [row["i"] for row in rows(tmp_path)] == list(range(20000))


def test_backpressure_bounds_memory_even_for_refusals(aero_init, tmp_path):
    """A refusal's answer is 30 times longer than the 2-byte line "x": a
    client that sends 60,000 of them before it reads any answer still gets
    every answer, in order, and aero-init's memory stays small."""
    code = """
import socket, os, threading
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["AERO_SOCKET"])
n = 60000
t = threading.Thread(target=lambda: s.sendall(b"x\\n" * n + b'{"type":"log","data":{}}\\n'))
t.start()
import time; time.sleep(1)
f = s.makefile("rb")
answers = [f.readline() for _ in range(n + 1)]
t.join()
with open("/proc/%d/status" % os.getppid()) as status:
    peak = [int(l.split()[1]) for l in status if l.startswith("VmHWM:")][0]
print(len(set(answers[:n])), answers[-1].decode().strip(), peak)
"""
    r = run_python(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    distinct, last, peak_kib = r.stdout.split()
    assert distinct == "1" and last == '{"ok":true}'
    if not SANITIZED:  # AddressSanitizer's shadow memory would count
        assert int(peak_kib) < 16 * 1024
    assert len(rows(tmp_path)) == 1


@pytest.mark.skipif(SANITIZED, reason="AddressSanitizer's shadow memory would count")
def test_many_logging_connections_cost_little_memory(aero_init, tmp_path):
    """500 connections, each open after logging two records (one process per
    data-loader worker, say): aero-init keeps a shape of each one's record
    and a buffer for its answers, sized to what it sends. (Shapes of a fixed
    2 KiB text and 4 KiB answer buffers cost 13 KiB a connection.)"""
    code = """
import os, socket
def rss():
    with open("/proc/%d/status" % os.getppid()) as status:
        return [int(l.split()[1]) for l in status if l.startswith("VmRSS:")][0]
before = rss()
socks = []
for i in range(500):
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.environ["AERO_SOCKET"])
    for step in (1, 2):
        s.sendall(b'{"type":"log","data":{"loss":0.%d,"accuracy":0.98,"epoch":%d}}\\n'
                  % (i, step))
        assert s.recv(64) == b'{"ok":true}\\n'
    socks.append(s)
print(rss() - before)
"""
    r = run_python(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) < 3 * 1024, "%s KiB for 500 connections" % r.stdout.strip()
    assert len(rows(tmp_path)) == 1000


@memcheck
def test_aero_init_log_from_a_shell(aero_init, tmp_path):
    script = ('{0} log loss=0.5 name=first ok=true none=null; '
              '{0} log --step 7 loss=0.25; {0} log --summary best=0.25; '
              '{0} log --config lr=3e-4 opt=adam; {0} log _x=1; echo refused=$?; '
              '{0} log notapair; echo usage=$?').format(aero_init)
    r = subprocess.run([aero_init, "--run-dir", str(tmp_path), "--", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60, env=clean_env())
    assert r.returncode == 0, r.stderr
    assert "refused=1\n" in r.stdout and "usage=125\n" in r.stdout
    got = rows(tmp_path)
    assert got[0]["loss"] == 0.5 and got[0]["name"] == "first" and got[0]["ok"] is True
    assert got[0]["none"] is None and got[1]["_step"] == 7
    assert json.loads((tmp_path / "config.json").read_text()) == {"lr": 0.0003, "opt": "adam"}
    assert "log: refused: keys starting with '_' are reserved" in r.stderr
    assert "'notapair' is not KEY=VALUE" in r.stderr


def test_aero_init_log_outside_a_run(aero_init):
    r = subprocess.run([aero_init, "log", "x=1"], capture_output=True, text=True,
                       env=clean_env())
    assert r.returncode == 125
    assert "AERO_SOCKET is unset" in r.stderr


def test_a_deep_run_directory_gets_a_socket_under_tmp(aero_init, tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    code = "import aeromancy, os; aeromancy.log({'x': 1}); print(os.environ['AERO_SOCKET'])"
    r = run_python(aero_init, deep, code)
    assert r.returncode == 0, r.stderr
    sock = r.stdout.strip()
    assert sock.startswith("/tmp/aeromancy-") and not os.path.exists(sock)
    assert rows(deep) == [dict(rows(deep)[0], x=1)]


def test_a_relative_run_directory(aero_init, tmp_path):
    """aero-init leaves its working directory once the experiment runs, and
    the experiment may change its own: the run directory is made absolute
    first, for the socket, the records and the outcome."""
    code = "import aeromancy, os; os.chdir('/'); aeromancy.log({'x': 1})"
    r = subprocess.run([aero_init, "--run-dir", "run", "--", sys.executable, "-c", code],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60,
                       env=clean_env({"PYTHONPATH": CLIENT_PATH}))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert rows(tmp_path / "run")[0]["x"] == 1
    assert json.loads((tmp_path / "run" / "run.json").read_text())["state"] == "finished"
    assert not (tmp_path / "run" / "aero.sock").exists()


def test_client_outside_aero_init_warns_once(tmp_path):
    code = "import aeromancy; aeromancy.log({'x': 1}); aeromancy.log({'x': 2})"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=clean_env({"PYTHONPATH": CLIENT_PATH}))
    assert r.returncode == 0
    assert r.stderr.count("AERO_SOCKET is unset") == 1


@memcheck
@pytest.mark.parametrize("script,state,status", [
    ("exit 0", "finished", 0),
    ("exit 3", "failed", 3),
    ("kill -9 $$", "killed", 137),
])
def test_the_outcome_is_recorded(aero_init, tmp_path, script, state, status):
    r = subprocess.run([aero_init, "--run-dir", str(tmp_path), "--", "sh", "-c", script],
                       capture_output=True, text=True, timeout=60, env=clean_env())
    assert r.returncode == status
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["state"] == state and run["exit_status"] == status
    assert run["end_time"].endswith("Z")
    assert run.get("signal") == ("SIGKILL" if state == "killed" else None)


def test_rows_keep_the_data_exactly_as_sent(aero_init, tmp_path):
    code = r"""
import socket, os, json
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["AERO_SOCKET"])
f = s.makefile("rwb")
for raw in [b'{"step": 1, "data" : { "s": "a}b\\"c{", "n": {"x": [1, {"y": 2}]} } , "type":"log"}',
            b'{"type":"log","d\\u0061ta":{"z":1}}',
            b'{"type":"log","data":{}}',
            b'{"type":"log","meta":{"data":{"no":1}},"data":{"yes":1e-300}}']:
    f.write(raw + b"\n"); f.flush()
    assert f.readline() == b'{"ok":true}\n'
"""
    r = run_python(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    got = rows(tmp_path)
    assert got[0]["s"] == 'a}b"c{' and got[0]["n"] == {"x": [1, {"y": 2}]}
    assert got[0]["_step"] == 1
    assert got[1]["z"] == 1 and got[1]["_step"] == 2  # "data" spelled with an escape
    assert set(got[2]) == {"_step", "_timestamp", "_runtime"}
    assert got[3]["yes"] == 1e-300 and "no" not in got[3]


@memcheck
def test_every_refusal_reason(aero_init, tmp_path):
    """The channel checks the whole line against RFC 8259 (numbers, escapes,
    UTF-8) before anything is recorded, and names what is wrong."""
    code = r"""
import socket, os, json
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["AERO_SOCKET"])
f = s.makefile("rwb")
def send(raw):
    f.write(raw + b"\n"); f.flush(); return json.loads(f.readline())
cases = [
    b'[1, 2]',
    b'{"type":"log","data":{"a":01}}',
    b'{"type":"log","data":{"a":1.}}',
    b'{"type":"log","data":{"a":"\\x"}}',
    b'{"type":"log","data":{"a":"\\ud800"}}',
    b'{"type":"log","data":{"a":"\xc0\xaf"}}',
    b'{"type":"log","data":{"a":"\xed\xa0\x80"}}',
    b'{"type":"log","data":{"a":"tab\there"}}',
    b'{"type":"log","data":{"a":1}} x',
    b'{"type":"log","data":' + b'[' * 1001 + b']' * 1001 + b'}',
    b'{"type":"log","data":{"a":1},"data":{"b":2}}',
    b'{"type":"log","type":"summary","data":{"b":2}}',
    b'{"data":{"a":1}}',
    b'{"type":7,"data":{"a":1}}',
    b'{"type":"log"}',
    b'{"type":"log","data":{"\\u005fstep":1}}',
    b'{"type":"log","data":{"a":1},"step":"3"}',
    b'{"type":"log","data":{"a":1},"step":1.5}',
    b'{"type":"log","data":{"a":1},"step":5}',
    b'{"type":"log","data":{"a":1},"step":4}',
    b'{"type":"summary","data":{"_x":1}}',
    b'{"type":"config","data":3}',
    b'{"type":"notes","text":["x"]}',
    b'{"type":"tags","tags":"x"}',
]
print(json.dumps([send(raw) for raw in cases]))
"""
    r = run_python(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    answers = json.loads(r.stdout)
    assert [a["ok"] for a in answers] == [False] * 18 + [True] + [False] * 5
    errors = [a.get("error") for a in answers]
    invalid = "not a JSON object: "
    assert errors[:18] == [
        "not a JSON object",
        invalid + "an invalid number at byte 27",
        invalid + "an invalid number at byte 27",
        invalid + "an invalid escape or an unpaired surrogate at byte 28",
        invalid + "an invalid escape or an unpaired surrogate at byte 28",
        invalid + "invalid UTF-8 at byte 28",
        invalid + "invalid UTF-8 at byte 28",
        invalid + "a control character in a string (escape it) at byte 31",
        invalid + "text after the end of the value at byte 31",
        invalid + "objects and arrays nested more than 1000 deep at byte 1021",
        "duplicate key \"data\"",
        "duplicate key \"type\"",
        "no \"type\" (log, summary, config, tags, notes or artifact)",
        "no \"type\" (log, summary, config, tags, notes or artifact)",
        "\"data\" must be an object",
        "keys starting with '_' are reserved",
        "step must be a whole number from 0",
        "step must be a whole number from 0",
    ]
    assert errors[19:] == ["step 4 comes before step 5, logged already",
                           "keys starting with '_' are reserved", "\"data\" must be an object",
                           "\"text\" must be a string", "\"tags\" must be a list of strings"]
    assert [row["_step"] for row in rows(tmp_path)] == [5]
    assert "23 records from the experiment were refused" in r.stderr


def test_numbers_and_steps_as_json_spells_them(aero_init, tmp_path):
    code = r"""
import socket, os
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["AERO_SOCKET"])
f = s.makefile("rwb")
for raw in [b'{"type":"log","data":{"a":[true,false,null,{}]},"step":-0}',
            b'{"type":"log","data":{"a":-0.5e+3,"b":0,"c":1E2,"u":"\u00e9\ud83d\ude00\u00e9"},"step":1.0}',
            b'\t{ "type" : "log" , "data" : { } , "step" : 2e0 }\r']:
    f.write(raw + b"\n"); f.flush()
    assert f.readline() == b'{"ok":true}\n', raw
"""
    r = run_python(aero_init, tmp_path, code)
    assert r.returncode == 0, r.stderr
    got = rows(tmp_path)
    assert [row["_step"] for row in got] == [0, 1, 2]
    assert got[0]["a"] == [True, False, None, {}]
    assert got[1]["a"] == -500 and got[1]["c"] == 100 and got[1]["u"] == "\u00e9\U0001f600\u00e9"
