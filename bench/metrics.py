#!/usr/bin/env python3
"""bench/metrics: records per second through aero-init's metric channel into
the local sink, from 1 and from 8 concurrent writers, against the physical
limit measured in the same run: the same bytes copied into a file by `cat`.
Writers pipeline (they send records without waiting for each answer, reading
the answers on a second thread), as a busy experiment's logging thread would.
aero-init's peak RSS is its VmHWM, read by the writer from /proc at the end.
Target (issue 4): one writer at least a third of cat's rate; RSS under 16 MiB.

Usage: bench/metrics.py AERO_INIT [RECORDS_PER_WRITER]
"""
import os
import subprocess
import sys
import tempfile
import time

WRITER = r"""
import os, socket, sys, threading
n, writers = int(sys.argv[1]), int(sys.argv[2])
line = b'{"type":"log","data":{"loss":0.123456789,"accuracy":0.987654321,"lr":0.0003,"epoch":7}}\n'
def one():
    s = socket.socket(socket.AF_UNIX); s.connect(os.environ["AERO_SOCKET"])
    t = threading.Thread(target=lambda: s.sendall(line * n)); t.start()
    answers = bytearray()
    while answers.count(b"\n") < n:  # answers read in bulk: the writer is not the limit
        chunk = s.recv(1 << 20)
        if not chunk:
            sys.exit("aero-init closed the channel")
        answers += chunk
    if answers.count(b'{"ok":true}\n') != n:
        sys.exit("refused")
    t.join()
pids = []
for _ in range(writers):
    pid = os.fork()
    if pid == 0:
        one(); os._exit(0)
    pids.append(pid)
for pid in pids:
    assert os.waitpid(pid, 0)[1] == 0
# aero-init is our parent: its own peak RSS, children excluded.
with open("/proc/%d/status" % os.getppid()) as f:
    print([l.split()[1] for l in f if l.startswith("VmHWM:")][0])
"""

LINE_BYTES = 98  # the record above, newline included


def through_aero_init(aero_init, n, writers):
    with tempfile.TemporaryDirectory() as run_dir:
        began = time.perf_counter()
        r = subprocess.run([aero_init, "--no-capture", "-s", "1",
                            "--run-dir", run_dir, "--", sys.executable, "-c", WRITER, str(n),
                            str(writers)], capture_output=True, text=True)
        elapsed = time.perf_counter() - began
        if r.returncode != 0:
            sys.exit("bench/metrics: the writers failed: " + r.stderr)
        with open(os.path.join(run_dir, "metrics.jsonl")) as f:
            rows = sum(1 for _ in f)
        if rows != n * writers:
            sys.exit("bench/metrics: %d rows for %d records" % (rows, n * writers))
        return n * writers / elapsed, int(r.stdout.strip().splitlines()[-1])


def through_cat(total):
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in"), os.path.join(d, "out")
        with open(src, "wb") as f:
            f.write(b"x" * (LINE_BYTES - 1) + b"\n")
            f.truncate(LINE_BYTES * total)
        began = time.perf_counter()
        subprocess.run(["sh", "-c", "cat %s > %s" % (src, dst)], check=True)
        return total / (time.perf_counter() - began)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    aero_init = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    one_rate, one_rss = through_aero_init(aero_init, n, 1)
    eight_rate, eight_rss = through_aero_init(aero_init, n // 8, 8)
    limit = through_cat(n)
    print("bench/metrics: %d records of %d bytes" % (n, LINE_BYTES))
    print("%-26s %14s %10s %14s" % ("subject", "records_per_s", "of_limit", "peak_rss_kib"))
    print("%-26s %14.0f %10s %14s" % ("cat into a file (limit)", limit, "1.000", "-"))
    print("%-26s %14.0f %10.3f %14d" % ("aero-init, 1 writer", one_rate, one_rate / limit, one_rss))
    print("%-26s %14.0f %10.3f %14d" % ("aero-init, 8 writers", eight_rate, eight_rate / limit,
                                        eight_rss))
    print("target: 1 writer >= 0.333 of the limit; peak RSS < 16 MiB (16384 KiB)")


if __name__ == "__main__":
    main()
