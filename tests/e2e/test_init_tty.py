"""Job control on a terminal: aero-init hands the terminal to the experiment,
both as PID 1 leading the terminal's session (docker run -it IMAGE bash) and
under an interactive shell on the host."""
import os
import pty
import select
import signal
import time

import pytest


class Terminal:
    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvpe(argv[0], argv, env)
        self.seen = b""

    def expect(self, text, timeout=20.0):
        end = time.monotonic() + timeout
        while text.encode() not in self.seen:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r on the terminal; it shows:\n%s" %
                                     (text, self.seen.decode(errors="replace")))
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError("terminal closed before %r:\n%s" %
                                         (text, self.seen.decode(errors="replace")))
                self.seen += chunk

    def send(self, text):
        os.write(self.fd, text.encode())

    def close(self):
        end = time.monotonic() + 10
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            try:
                if ready:
                    self.seen += os.read(self.fd, 4096)
            except OSError:
                time.sleep(0.01)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError("the terminal's process did not end")


def shell_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AERO_")}
    env.update({"PS1": "prompt$ ", "TERM": "dumb", "HISTFILE": "/dev/null"})
    return env


@pytest.fixture
def bash():
    if not os.path.exists("/bin/bash"):
        pytest.skip("bash is needed for the job-control tests")


def test_docker_run_it_bash(aero_init, bash):
    """aero-init is PID 1 and leads the terminal's session, as under docker
    run -it: bash must get the terminal and do job control."""
    term = Terminal(["unshare", "--pid", "--fork", "--mount-proc", "setsid", "--ctty",
                     aero_init, "--", "bash", "--norc", "--noprofile", "-i"], shell_env())
    term.expect("prompt$ ")
    term.send("echo pid=$$\n")
    term.expect("pid=2")  # bash is aero-init's child in the new namespace
    term.send("sleep 30\n")
    time.sleep(0.5)
    term.send("\x1a")  # Ctrl-Z
    term.expect("Stopped")
    term.send("fg\n")
    term.expect("sleep 30\r\n")
    time.sleep(0.3)
    term.send("\x03")  # Ctrl-C reaches the foreground job
    term.send("echo status=$?\n")
    term.expect("status=130")
    term.send("exit 7\n")
    code = term.close()
    assert b"no job control" not in term.seen, term.seen
    assert code == 7


def test_interactive_shell_on_the_host(aero_init, bash):
    """Under a host shell aero-init puts the experiment in the foreground;
    Ctrl-Z stops the job (aero-init stops with it), fg resumes it, Ctrl-C
    reaches it."""
    term = Terminal(["bash", "--norc", "--noprofile", "-i"], shell_env())
    term.expect("prompt$ ")
    term.send("%s -- sh -c 'echo started; sleep 30'\n" % aero_init)
    term.expect("started")
    time.sleep(0.3)
    term.send("\x1a")
    term.expect("Stopped")
    term.send("fg\n")
    time.sleep(0.5)
    term.send("\x03")  # Ctrl-C goes to the experiment, now in the foreground again
    term.send("echo status=$?\n")
    term.expect("status=130")
    term.send("exit 0\n")
    assert term.close() == 0
