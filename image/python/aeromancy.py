"""Aeromancy's client for experiments: send metrics, summaries, configuration,
tags and notes to aero-init, which records them in the run and feeds the
trackers. Standard library only; the channel is described in doc/channel.md.

    import aeromancy
    aeromancy.config({"lr": 3e-4, "batch": 64})
    for step in range(100):
        aeromancy.log({"loss": loss}, step=step)
    aeromancy.summary({"best_loss": best})

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

__all__ = ["AeromancyError", "log", "config", "summary", "tags", "notes"]


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
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.connect(path)
            self._file = self._sock.makefile("rwb")
            self._pid = os.getpid()
        return True

    def send(self, message):
        line = json.dumps(_jsonable(message), allow_nan=False, separators=(",", ":"))
        with self._lock:
            if not self._connect():
                return
            self._file.write(line.encode() + b"\n")
            self._file.flush()
            reply = self._file.readline()
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


def summary(data):
    """Records final or best values (merged with those recorded before)."""
    _channel.send({"type": "summary", "data": data})


def tags(*names):
    """Sets the run's tags."""
    _channel.send({"type": "tags", "tags": [str(n) for n in names]})


def notes(text):
    """Sets the run's notes."""
    _channel.send({"type": "notes", "text": str(text)})
