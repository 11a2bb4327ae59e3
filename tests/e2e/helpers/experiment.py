#!/usr/bin/env python3
"""Experiments that the end-to-end tests run under aero-init.

Each mode exercises one duty of an init and reports what it saw into files,
so that the tests can check from outside without trusting aero-init.
"""
import json
import os
import signal
import sys
import time

CATCHABLE = [s for s in range(1, 32) if s not in (signal.SIGKILL, signal.SIGSTOP)] + list(
    range(signal.SIGRTMIN, signal.SIGRTMAX + 1)
)


def append(path, text):
    with open(path, "a") as f:
        f.write(text + "\n")
        f.flush()


def wait_for(path, timeout=20.0):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > end:
            sys.exit("timed out waiting for " + path)
        time.sleep(0.005)


def record(out, ready, stop):
    """Append each signal received to `out` until `stop` exists."""
    for sig in CATCHABLE:
        if sig != signal.SIGCHLD:
            signal.signal(sig, lambda s, _f: append(out, str(s)))
    append(ready, str(os.getpid()))
    while not os.path.exists(stop):
        time.sleep(0.005)


def group(out, ready, stop):
    """A main process and a worker in its process group; both record SIGTERM/SIGUSR1."""
    pid = os.fork()
    role = "worker" if pid == 0 else "main"
    for sig in (signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: append(out, "%s %d" % (role, s)))
    append(ready, role)
    while not os.path.exists(stop):
        time.sleep(0.005)
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def orphans(count, wait=20.0):
    """Leave `count` orphans that exit at once; report the zombies left under
    our parent once none are left, or after `wait` seconds."""
    init = os.getppid()
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            if os.fork() == 0:
                os._exit(0)
            os._exit(0)
        os.waitpid(pid, 0)
    end = time.monotonic() + wait
    while True:
        zombies = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == "Z" and int(fields[1]) == init:
                zombies += 1
        if zombies == 0 or time.monotonic() > end:
            break
        time.sleep(0.05)
    print("zombies=%d" % zombies)


def cleanup_worker(out, ready, delay, trap):
    """The main process leaves a worker behind and exits 5. The worker traps
    SIGTERM (unless trap == 'ignore') and needs `delay` seconds to clean up."""
    pid = os.fork()
    if pid == 0:
        os.setsid()  # left the process group: only a descendant walk finds it

        def on_term(_s, _f):
            append(out, "got SIGTERM")
            time.sleep(float(delay))
            append(out, "cleaned up")
            os._exit(0)

        if trap == "ignore":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        else:
            signal.signal(signal.SIGTERM, on_term)
        append(ready, str(os.getpid()))
        while True:
            time.sleep(1)
    wait_for(ready)
    sys.exit(5)


def state(out):
    """Write what the experiment inherited: signal state, fds, cwd, session."""
    status = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.strip()
    fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
    info = {
        "SigBlk": status["SigBlk"],
        "SigIgn": status["SigIgn"],
        "fds": fds,
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "pgid": os.getpgrp(),
        "sid": os.getsid(0),
    }
    try:
        info["tty_pgrp"] = os.tcgetpgrp(0)
    except OSError:
        info["tty_pgrp"] = None
    with open(out, "w") as f:
        json.dump(info, f)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    {
        "record": record,
        "group": group,
        "orphans": lambda n, wait="20": orphans(int(n), float(wait)),
        "cleanup-worker": cleanup_worker,
        "state": state,
    }[mode](*args)


if __name__ == "__main__":
    main()
