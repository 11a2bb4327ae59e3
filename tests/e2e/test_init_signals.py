"""aero-init as PID 1 and as a subreaper: reaping, signal forwarding, rewriting,
the grace period, the parent-death signal and the experiment's clean state."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import (EXPERIMENT, children_of, memcheck, not_under_valgrind, process_state, run,
                      wait_until)

# What valgrind changes for aero-init (make valgrind).
VALGRIND_SYNC = not_under_valgrind("SIGILL, SIGSEGV, SIGBUS and SIGFPE are valgrind's own: "
                                   "one sent with kill(2) ends it")
VALGRIND_SLOW = not_under_valgrind("aero-init is too slow for the test's time limits")
VALGRIND_FDS = not_under_valgrind("the experiment inherits valgrind's log files")

FORWARDED = [s for s in range(1, 32) if s not in (signal.SIGKILL, signal.SIGSTOP,
                                                  signal.SIGCHLD)] + \
    list(range(signal.SIGRTMIN, signal.SIGRTMAX + 1))


def lines(path):
    return path.read_text().splitlines() if path.exists() else []


@memcheck
def test_reaps_a_thousand_orphans(aero_init, mode):
    r = run(aero_init, ["--"] + EXPERIMENT + ["orphans", "1000"], pid1=mode == "pid1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().strip() == "zombies=0"


def test_zombie_count_sees_zombies_under_a_parent_that_does_not_reap():
    """The check above can fail: under a subreaper that never reaps, the same
    experiment reports the orphans it left as zombies."""
    script = ("import ctypes, subprocess, sys\n"
              "ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # CHILD_SUBREAPER\n"
              "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
              "print(r.stdout.strip())\n")
    r = subprocess.run([sys.executable, "-c", script] + EXPERIMENT + ["orphans", "20", "0.5"],
                       capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "zombies=20", r.stdout + r.stderr


@VALGRIND_SYNC
def test_forwards_every_catchable_and_realtime_signal(start, mode, tmp_path):
    out, ready, stop = tmp_path / "got", tmp_path / "ready", tmp_path / "stop"
    init = start(["-g", "60", "--"] + EXPERIMENT + ["record", str(out), str(ready), str(stop)],
                 pid1=mode == "pid1")
    wait_until(ready.exists, what="the experiment to be ready")
    for sig in FORWARDED:
        init.signal(sig)
        wait_until(lambda: str(sig) in lines(out), what="signal %d to arrive" % sig)
    stop.touch()
    code, _, err = init.wait()
    assert code == 0, err
    assert sorted(set(int(x) for x in lines(out))) == sorted(FORWARDED)


@VALGRIND_SYNC
@pytest.mark.parametrize("sig", [signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL,
                                 signal.SIGABRT, signal.SIGTRAP, signal.SIGSYS])
def test_synchronous_signals_sent_with_kill_do_not_kill_it(start, mode, tmp_path, sig):
    out, ready, stop = tmp_path / "got", tmp_path / "ready", tmp_path / "stop"
    init = start(["--"] + EXPERIMENT + ["record", str(out), str(ready), str(stop)],
                 pid1=mode == "pid1")
    wait_until(ready.exists)
    init.signal(sig)
    wait_until(lambda: str(sig) in lines(out), what="the forwarded signal")
    assert process_state(init.pid) not in (None, "Z")
    stop.touch()
    assert init.wait()[0] == 0


@memcheck
def test_signals_reach_the_whole_process_group(start, mode, tmp_path):
    out, ready, stop = tmp_path / "got", tmp_path / "ready", tmp_path / "stop"
    init = start(["--"] + EXPERIMENT + ["group", str(out), str(ready), str(stop)],
                 pid1=mode == "pid1")
    wait_until(lambda: len(lines(ready)) == 2)
    init.signal(signal.SIGUSR1)
    wait_until(lambda: {"main 10", "worker 10"} <= set(lines(out)), what="both to get SIGUSR1")
    stop.touch()
    assert init.wait()[0] == 0


def test_child_only_signals_just_the_child(start, mode, tmp_path):
    out, ready, stop = tmp_path / "got", tmp_path / "ready", tmp_path / "stop"
    init = start(["--child-only", "--"] + EXPERIMENT + ["group", str(out), str(ready), str(stop)],
                 pid1=mode == "pid1")
    wait_until(lambda: len(lines(ready)) == 2)
    init.signal(signal.SIGUSR1)
    wait_until(lambda: "main 10" in lines(out))
    time.sleep(0.3)
    assert "worker 10" not in lines(out)
    stop.touch()
    assert init.wait()[0] == 0


def test_child_only_by_environment(start, tmp_path):
    out, ready, stop = tmp_path / "got", tmp_path / "ready", tmp_path / "stop"
    init = start(["--"] + EXPERIMENT + ["group", str(out), str(ready), str(stop)], pid1=True,
                 env={"AERO_SIGNAL_CHILD_ONLY": "true"})
    wait_until(lambda: len(lines(ready)) == 2)
    init.signal(signal.SIGUSR1)
    wait_until(lambda: "main 10" in lines(out))
    time.sleep(0.3)
    assert "worker 10" not in lines(out)
    stop.touch()
    init.wait()


def test_rewrite_and_drop(start, mode, tmp_path):
    out, ready, stop = tmp_path / "got", tmp_path / "ready", tmp_path / "stop"
    init = start(["-r", "USR1:USR2", "-r", "HUP:0", "--"] + EXPERIMENT +
                 ["record", str(out), str(ready), str(stop)], pid1=mode == "pid1")
    wait_until(ready.exists)
    init.signal(signal.SIGHUP)
    init.signal(signal.SIGUSR1)
    wait_until(lambda: str(int(signal.SIGUSR2)) in lines(out))
    init.signal(signal.SIGWINCH)
    wait_until(lambda: str(int(signal.SIGWINCH)) in lines(out))
    stop.touch()
    assert init.wait()[0] == 0
    got = set(lines(out))
    assert str(int(signal.SIGHUP)) not in got and str(int(signal.SIGUSR1)) not in got


def test_rewrite_by_environment(start, tmp_path):
    out, ready, stop = tmp_path / "got", tmp_path / "ready", tmp_path / "stop"
    init = start(["--"] + EXPERIMENT + ["record", str(out), str(ready), str(stop)], pid1=True,
                 env={"AERO_SIGNAL_REWRITE": "SIGUSR1:RTMIN+1"})
    wait_until(ready.exists)
    init.signal(signal.SIGUSR1)
    wait_until(lambda: str(signal.SIGRTMIN + 1) in lines(out))
    stop.touch()
    init.wait()


@VALGRIND_SLOW
def test_worker_finishes_cleanup_after_main_exits(start, mode, tmp_path):
    """Graceful end: the main process exits, a worker that left its process
    group gets SIGTERM and its 1 s of cleanup before aero-init exits."""
    out, ready = tmp_path / "out", tmp_path / "ready"
    began = time.monotonic()
    init = start(["--"] + EXPERIMENT + ["cleanup-worker", str(out), str(ready), "1", "trap"],
                 pid1=mode == "pid1")
    code, _, err = init.wait()
    elapsed = time.monotonic() - began
    assert code == 5, err  # the main process's status, not the worker's
    assert lines(out) == ["got SIGTERM", "cleaned up"]
    assert 1.0 <= elapsed < 9, elapsed
    worker = int(ready.read_text()) if mode == "subreaper" else None
    if worker:
        assert process_state(worker) is None


@VALGRIND_SLOW
def test_grace_period_ends_with_sigkill(start, mode, tmp_path):
    out, ready = tmp_path / "out", tmp_path / "ready"
    began = time.monotonic()
    init = start(["--grace", "500ms", "-v", "--"] + EXPERIMENT +
                 ["cleanup-worker", str(out), str(ready), "0", "ignore"], pid1=mode == "pid1")
    code, _, err = init.wait()
    elapsed = time.monotonic() - began
    assert code == 5
    assert 0.5 <= elapsed < 5, elapsed
    assert "grace period of 500 ms is over" in err
    if mode == "subreaper":
        assert process_state(int(ready.read_text())) is None


def test_grace_period_from_environment(start, tmp_path):
    out, ready = tmp_path / "out", tmp_path / "ready"
    began = time.monotonic()
    init = start(["--"] + EXPERIMENT + ["cleanup-worker", str(out), str(ready), "0", "ignore"],
                 pid1=True, env={"AERO_GRACE_PERIOD": "0.3"})
    init.wait()
    assert time.monotonic() - began < 5


def test_sigterm_is_forwarded_and_the_experiment_may_finish(start, mode, tmp_path):
    script = "trap 'echo cleanup; sleep 1; echo done; exit 0' TERM; echo ready; " \
             "while :; do sleep 0.05; done"
    init = start(["--", "sh", "-c", script], pid1=mode == "pid1")
    assert init.proc.stdout.readline() == b"ready\n"
    init.signal(signal.SIGTERM)
    code, out, _ = init.wait()
    assert code == 0
    assert out == "cleanup\ndone\n"


@memcheck
def test_sigterm_then_sigkill_after_grace(start, mode):
    script = "trap '' TERM INT; echo ready; while :; do sleep 0.05; done"
    init = start(["-g", "0.5", "--", "sh", "-c", script], pid1=mode == "pid1")
    assert init.proc.stdout.readline() == b"ready\n"
    began = time.monotonic()
    init.signal(signal.SIGINT)
    code, _, err = init.wait()
    assert code == 128 + signal.SIGKILL
    assert 0.5 <= time.monotonic() - began < 5
    assert "grace period of 500 ms is over" in err


def test_subreaper_adopts_orphans_silently(start, tmp_path):
    out = tmp_path / "pid"
    script = "sleep 30 & echo $! > %s; exit 0" % out
    init = start(["-g", "0.2", "--", "sh", "-c", script], pid1=False)
    code, _, err = init.wait()
    assert code == 0 and err == ""
    assert process_state(int(out.read_text())) is None  # the orphan was ended and reaped


@memcheck
def test_orphan_is_reparented_to_aero_init(start, tmp_path):
    out, stop = tmp_path / "pid", tmp_path / "stop"
    script = "(sleep 30 & echo $! > %s) ; while [ ! -e %s ]; do sleep 0.05; done" % (out, stop)
    init = start(["--", "sh", "-c", script], pid1=False)
    orphan = int(wait_until(lambda: out.exists() and out.read_text().strip()))
    assert orphan in wait_until(lambda: orphan in children_of(init.pid) and
                                children_of(init.pid), what="reparenting")
    stop.touch()
    assert init.wait()[0] == 0


def test_parent_death_signal(tmp_path, aero_init):
    out, ready, stop = tmp_path / "got", tmp_path / "ready", tmp_path / "stop"
    parent = subprocess.Popen(
        ["python3", "-c", "import subprocess,sys,time;"
         "subprocess.Popen(sys.argv[1:]); time.sleep(60)",
         aero_init, "--pdeathsig", "USR2", "--"] + EXPERIMENT +
        ["record", str(out), str(ready), str(stop)])
    try:
        wait_until(ready.exists)
        parent.kill()
        parent.wait()
        wait_until(lambda: str(int(signal.SIGUSR2)) in lines(out), what="the parent-death signal")
    finally:
        stop.touch()


@VALGRIND_FDS
def test_clean_state_for_the_experiment(aero_init, mode, tmp_path):
    """Even when started with signals ignored and blocked and extra fds open,
    the experiment gets default dispositions, an empty mask, none of
    aero-init's fds and aero-init's working directory."""
    workdir = tmp_path / "work"
    workdir.mkdir()

    def messy():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # would make the kernel reap for us
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM})

    prefix = ["unshare", "--pid", "--fork", "--mount-proc"] if mode == "pid1" else []

    def under_init(*command):
        r = subprocess.run(prefix + [aero_init, "--"] + list(command), cwd=workdir,
                           preexec_fn=messy, capture_output=True, timeout=30, pass_fds=(),
                           close_fds=True)
        assert r.returncode == 0, r.stderr
        return r.stdout.decode()

    # cat and ls show the state exec gave them; an interpreter would change it.
    status = dict(line.split(":\t", 1) for line in
                  under_init("cat", "/proc/self/status").splitlines() if ":\t" in line)
    assert int(status["SigBlk"], 16) == 0
    assert int(status["SigIgn"], 16) == 0
    # 0-2 and the directory fd ls opens to list; nothing of aero-init's
    assert under_init("ls", "/proc/self/fd").split() == ["0", "1", "2", "3"]
    assert under_init("pwd").strip() == str(workdir)
    stat = under_init("cat", "/proc/self/stat").rsplit(")", 1)[1].split()
    assert stat[2] == stat[3], "the experiment leads its own session and group"
    # With SIGCHLD inherited as ignored, the exit status must still come through.
    r = subprocess.run(prefix + [aero_init, "--", "sh", "-c", "exit 3"], preexec_fn=messy,
                       capture_output=True, timeout=30)
    assert r.returncode == 3, r.stderr


@VALGRIND_SLOW
def test_aero_init_does_not_pin_the_working_directory(start, tmp_path):
    stop = tmp_path / "stop"
    init = start(["--", "sh", "-c", "while [ ! -e %s ]; do sleep 0.05; done" % stop], pid1=False)
    wait_until(lambda: os.readlink("/proc/%d/cwd" % init.pid) == "/", timeout=5,
               what="aero-init to leave its starting directory")
    stop.touch()
    init.wait()


@memcheck
def test_job_control_signals_stop_and_continue(start, mode):
    # One process that never forks: a shell that vforks a command in a loop
    # can be caught mid-vfork, where the kernel holds it in state D, not T.
    init = start(["--", "sh", "-c", "echo ready; exec sleep 60"], pid1=mode == "pid1")
    assert init.proc.stdout.readline() == b"ready\n"
    child = wait_until(lambda: (children_of(init.pid) or [None])[0])
    for stop_sig in (signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU):
        init.signal(stop_sig)
        wait_until(lambda: process_state(child) == "T", what="the experiment to stop")
        assert process_state(init.pid) not in ("T", None)
        init.signal(signal.SIGCONT)
        wait_until(lambda: process_state(child) in ("R", "S"), what="it to resume")
    init.signal(signal.SIGTERM)
    assert init.wait()[0] == 128 + signal.SIGTERM
