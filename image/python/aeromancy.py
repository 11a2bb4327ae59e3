"""Aeromancy's client for experiments: send metrics, summaries, configuration,
tags and notes to aero-init, which records them in the run and feeds the
trackers. Standard library only; the channel is described in doc/channel.md.

    import aeromancy
    aeromancy.config({"lr": 3e-4, "batch": 64})
    lr = aeromancy.task_config().get("lr", 3e-4)         # a pipeline task's config
    for step in range(100):
        aeromancy.log({"loss": loss}, step=step)
    aeromancy.summary({"best_loss": best})
    data = aeromancy.use_artifact("mnist:v3", "data/")     # an input of the run
    aeromancy.log_artifact("model", "out/model.pt")        # an output, versioned

Each call returns once aero-init has written the record to disk. Outside
aero-init (no AERO_SOCKET) the calls do nothing and warn once. Safe to use
from several threads and from forked worker processes.
"""
import json
import math
import os
import socket
import sys
import threading

__all__ = ["AeromancyError", "log", "config", "summary", "tags", "notes", "use_artifact",
           "log_artifact", "task_config"]


class AeromancyError(RuntimeError):
    """aero-init refused a record; the message says why."""


def _jsonable(value):
    """NaN and infinities are not JSON: send them as the strings trackers use."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy and torch scalars
        return _jsonable(value.item())
    return value


class _Channel:
    def __init__(self):
        self._lock = threading.Lock()
        self._sock = None
        self._file = None
        self._pid = None
        self._warned = False

    def _connect(self):
        path = os.environ.get("AERO_SOCKET")
        if not path:
            if not self._warned:
                print("aeromancy: not running under aero-init with a run directory "
                      "(AERO_SOCKET is unset); records are not kept", file=sys.stderr)
                self._warned = True
            return False
        if self._sock is None or self._pid != os.getpid():
            # A forked worker must not share its parent's connection.
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
            except OSError:
                sock.close()
                raise
            self._sock, self._file = sock, sock.makefile("rwb")
            self._pid = os.getpid()
        return True

    def _disconnect(self):
        for part in (self._file, self._sock):
            try:
                part.close()
            except OSError:
                pass
        self._sock = self._file = None

    def send(self, message):
        line = json.dumps(_jsonable(message), allow_nan=False, separators=(",", ":"))
        with self._lock:
            if not self._connect():
                return
            hung_up = False
            try:
                self._file.write(line.encode() + b"\n")
                self._file.flush()
            except OSError:
                hung_up = True  # what it said first (a refusal) may still be there to read
            try:
                reply = self._file.readline()
            except OSError:
                reply = b""
            if hung_up or not reply:
                self._disconnect()  # the next call connects again
        if not reply:
            raise AeromancyError("aero-init closed the channel")
        answer = json.loads(reply)
        if not answer.get("ok"):
            raise AeromancyError(answer.get("error", "refused"))


_channel = _Channel()


def log(data, step=None):
    """Appends a history row (metrics at a step; the next step when None)."""
    message = {"type": "log", "data": data}
    if step is not None:
        message["step"] = int(step)
    _channel.send(message)


def config(data):
    """Records hyperparameters (merged with those recorded before)."""
    _channel.send({"type": "config", "data": data})


def task_config():
    """The settings the launcher gave this run (a pipeline task's "config",
    AERO_CONFIG), already recorded as its config; {} when none."""
    text = os.environ.get("AERO_CONFIG", "")
    if not text:
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise AeromancyError("AERO_CONFIG is not a JSON object")
    return value


def summary(data):
    """Records final or best values (merged with those recorded before)."""
    _channel.send({"type": "summary", "data": data})


def tags(*names):
    """Sets the run's tags."""
    _channel.send({"type": "tags", "tags": [str(n) for n in names]})


def notes(text):
    """Sets the run's notes."""
    _channel.send({"type": "notes", "text": str(text)})


def _artifact(args):
    """Runs `aero-init artifact ARGS` through aero-init, which does the transfer
    outside the experiment (doc/channel.md), and returns its --json result."""
    path = os.environ.get("AERO_SOCKET")
    if not path:
        raise AeromancyError("artifacts need aero-init (AERO_SOCKET is unset): run the "
                             "experiment under aero-init or aero-launch")
    message = json.dumps({"type": "artifact", "args": args, "cwd": os.getcwd()})
    read_end, write_end = os.pipe()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(path)
            # The worker writes its result to our pipe and its messages to our stderr.
            socket.send_fds(sock, [message.encode() + b"\n"], [write_end, 2])
            os.close(write_end)
            write_end = -1
            chunks = []
            while True:
                chunk = os.read(read_end, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
            answer = sock.makefile("rb").readline()
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)
    if not answer:
        raise AeromancyError("aero-init ended the artifact request without an answer")
    reply = json.loads(answer)
    if "exit" not in reply:
        raise AeromancyError(reply.get("error", "aero-init refused the artifact request"))
    if reply["exit"] != 0:
        raise AeromancyError("aero-init artifact %s failed with exit status %d (its message "
                             "is above, on stderr)" % (args[0], reply["exit"]))
    lines = b"".join(chunks).decode().strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def use_artifact(ref, directory):
    """Gets artifact ref (name, name:v3, name:latest or name@sha256:...) into
    directory, read-only, and records it as an input of the run. Returns the
    version got: {"name", "version", "digest", "files", "size", ...}."""
    return _artifact(["get", "--json", str(ref), os.fspath(directory)])


def log_artifact(name, *paths):
    """Stores the files and directories in paths as a new version of artifact
    name (or the latest one when nothing changed) and records it as an output
    of the run, with this run's inputs as its lineage. Returns the version."""
    if not paths:
        raise ValueError("log_artifact needs at least one path")
    return _artifact(["put", "--json", str(name)] + [os.fspath(p) for p in paths])
