"""Shared machinery of the tracker doubles: the HTTP server, fault injection,
state persistence, the control endpoints under /_double/, and DoubleProcess,
which runs a double as a child process for the tests.

What every double does here, whatever protocol it speaks:
- HTTP/1.1 with keep-alive (libcurl reuses connections): every answer carries
  Content-Length; request bodies come by Content-Length or chunked transfer
  coding; `Expect: 100-continue` is answered by http.server itself.
- A body over the double's limit is read and thrown away, then answered 413
  (so the client reads the answer instead of a reset).
- The whole state lives in STATE_DIR/state.json, rewritten atomically (temporary
  file + rename) after every request that may have changed it; uploaded bytes
  live in STATE_DIR/blobs/<sha256>; the request log in STATE_DIR/requests.jsonl.
  A double killed with SIGKILL and started again on the same port with the same
  directory carries on like a real server with a database. Pending faults are
  control-plane settings and live in memory only.
- Faults (POST /_double/faults) are applied to the next matching requests, before
  or after the request is processed (after: the state changed but the client saw
  an error, the case an exactly-once client must survive).

Control endpoints (no auth, never faulted, not logged):
  GET    /_double/state            the double's state as JSON (Python's json: may hold NaN)
  GET    /_double/requests         [{seq, time, answered_at, method, path, query, headers,
                                     body, body_size, status, fault, client_port}],
                                   each logged before its answer goes out; status null
                                   for a reset or a hang
  DELETE /_double/requests         forget the log
  POST   /_double/faults           a fault object or a list of them, appended
  GET    /_double/faults           the faults not used up yet;  DELETE clears them
  GET    /_double/blob/<sha256>    stored bytes of an upload or artifact
  (each double adds its own: /_double/stop for W&B, /_double/experiments for MLflow)

A fault: {"match": "<path substring>", "method": "POST", "operation": "<GraphQL
operationName>", "count": 1, "when": "before"|"after", "kind": ...} where kind is
  "status"  answer "status" (with optional "retry_after", "headers", "body"),
  "reset"   close the connection without an answer (RST),
  "hang"    sleep "seconds" without answering, then close,
  "delay"   sleep "seconds", then process and answer normally.
"""
import argparse
import base64
import errno
import hashlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Larger bodies are not even read: the connection is closed after the 413.
DISCARD_LIMIT = 256 * 1024 * 1024
# Request bodies up to this size are kept (as text) in the request log.
LOGGED_BODY_LIMIT = 64 * 1024
FAULT_KINDS = ("status", "reset", "hang", "delay")


class HttpError(Exception):
    """Raised by a double's handlers to answer an error in the protocol's shape."""

    def __init__(self, status, body, headers=None):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


class Response:
    def __init__(self, status, body=b"", headers=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def json_response(status, obj, headers=None):
    headers = dict(headers or {})
    headers.setdefault("Content-Type", "application/json")
    return Response(status, json.dumps(obj).encode(), headers)


def _reject_constant(name):
    raise ValueError("%s is not valid JSON" % name)


def parse_strict_json(data):
    """Parse a request body as standard JSON: bare NaN/Infinity tokens are
    invalid (RFC 8259), unlike in Python's json module. Raises ValueError."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return json.loads(text, parse_constant=_reject_constant)


def parse_basic_auth(header):
    """(user, password) from an `Authorization: Basic ...` header, else None."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class Request:
    """One parsed request as the double's handlers see it."""

    def __init__(self, method, target, headers, body, base_url):
        split = urllib.parse.urlsplit(target)
        self.method = method
        self.raw_path = split.path
        self.path = urllib.parse.unquote(split.path)
        self.query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        self.headers = headers
        self.body = body
        self.base_url = base_url

    def arg(self, name):
        values = self.query.get(name)
        return values[0] if values else None

    def header(self, name):
        return self.headers.get(name)

    def operation(self):
        """The GraphQL operationName of the body, if it has one (for fault matching)."""
        try:
            body = json.loads(self.body)
        except ValueError:
            return None
        return body.get("operationName") if isinstance(body, dict) else None


class StateStore:
    """The double's state: a JSON document on disk plus content-addressed blobs.
    Hold `lock` while reading or changing `data`; call save() after a change."""

    def __init__(self, directory, initial):
        self.directory = directory
        self.path = os.path.join(directory, "state.json")
        self.lock = threading.RLock()
        os.makedirs(os.path.join(directory, "blobs"), exist_ok=True)
        if os.path.exists(self.path):
            with open(self.path) as f:
                self.data = json.load(f)
        else:
            self.data = initial
            self.save()

    def save(self):
        # Temporary file + rename: a SIGKILL at any moment leaves either the old
        # or the new state, never half of one. No fsync: a killed process loses
        # nothing the kernel already has, and no test pulls the power.
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f)
        os.replace(tmp, self.path)

    def put_blob(self, data):
        digest = hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not os.path.exists(path):
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.replace(path + ".tmp", path)
        return digest

    def blob_path(self, digest):
        return os.path.join(self.directory, "blobs", digest)


class RequestLog:
    """Every non-control request with the answer it got, kept across restarts."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "requests.jsonl")
        self.lock = threading.Lock()
        self.entries = []
        if os.path.exists(self.path):
            with open(self.path) as f:
                # A kill in the middle of a write can leave a torn last line.
                for line in f:
                    try:
                        self.entries.append(json.loads(line))
                    except ValueError:
                        pass
        self.file = open(self.path, "a")

    def append(self, entry):
        with self.lock:
            entry["seq"] = len(self.entries) + 1
            self.entries.append(entry)
            self.file.write(json.dumps(entry) + "\n")
            self.file.flush()

    def clear(self):
        with self.lock:
            self.entries = []
            self.file.truncate(0)

    def snapshot(self):
        with self.lock:
            return list(self.entries)


def validate_fault(fault):
    """Check one fault object from POST /_double/faults; return it with defaults."""
    if not isinstance(fault, dict):
        raise ValueError("a fault must be a JSON object")
    kind = fault.get("kind")
    if kind not in FAULT_KINDS:
        raise ValueError("fault kind must be one of %s" % ", ".join(FAULT_KINDS))
    fault = dict(fault)
    fault.setdefault("match", "")
    fault.setdefault("count", 1)
    fault.setdefault("when", "before")
    if not isinstance(fault["match"], str):
        raise ValueError("match must be a string")
    if not isinstance(fault["count"], int) or fault["count"] < 1:
        raise ValueError("count must be an integer >= 1")
    if fault["when"] not in ("before", "after"):
        raise ValueError("when must be 'before' or 'after'")
    if kind == "status" and not isinstance(fault.get("status"), int):
        raise ValueError("a status fault needs an integer status")
    if kind in ("hang", "delay") and not isinstance(fault.get("seconds"), (int, float)):
        raise ValueError("a %s fault needs seconds" % kind)
    if "retry_after" in fault and not isinstance(fault["retry_after"], (str, int)):
        raise ValueError("retry_after must be a string (seconds or HTTP date)")
    return fault


class FaultTable:
    def __init__(self):
        self.lock = threading.Lock()
        self.faults = []

    def add(self, faults):
        faults = [validate_fault(f) for f in (faults if isinstance(faults, list) else [faults])]
        with self.lock:
            self.faults.extend(faults)

    def take(self, request):
        """The first pending fault matching the request, used up once."""
        with self.lock:
            for fault in self.faults:
                if fault["match"] not in request.path:
                    continue
                if fault.get("method") and fault["method"] != request.method:
                    continue
                if fault.get("operation") and fault["operation"] != request.operation():
                    continue
                fault["count"] -= 1
                if fault["count"] == 0:
                    self.faults.remove(fault)
                return {k: v for k, v in fault.items() if k != "count"}
        return None

    def pending(self):
        with self.lock:
            return [dict(f) for f in self.faults]

    def clear(self):
        with self.lock:
            self.faults = []


class DoubleApp:
    """A protocol double. Subclasses set `store` and implement handle()."""

    default_body_limit = 64 * 1024 * 1024

    def __init__(self, store):
        self.store = store

    def body_limit(self, path):
        return self.default_body_limit

    def handle(self, request):
        """Answer one request (called with store.lock held). Return a Response
        or raise HttpError; validate fully before changing any state."""
        raise NotImplementedError

    def error_body(self, path, status, message):
        """An error body in the protocol's shape, for faults and 400/413s."""
        return {"error": message}

    def control(self, request, name):
        """Double-specific control endpoints; None when `name` is not one."""
        return None

    def view_state(self):
        return self.store.data


class DoubleServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address, app):
        self.app = app
        self.faults = FaultTable()
        self.log = RequestLog(app.store.directory)
        self.resets = set()
        self.resets_lock = threading.Lock()
        super().__init__(address, DoubleHandler)

    def shutdown_request(self, request):
        with self.resets_lock:
            reset = request in self.resets
            self.resets.discard(request)
        if reset:
            # Linger 0 then close: the peer gets an RST, not a FIN and an empty reply.
            request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_request(request)
        else:
            super().shutdown_request(request)


class BodyError(Exception):
    def __init__(self, status, message, close=False):
        super().__init__(message)
        self.status = status
        self.close = close


class DoubleHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AeromancyDouble/1"
    timeout = 300  # an idle keep-alive connection is dropped after this

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, fmt, *args):
        if os.environ.get("DOUBLE_VERBOSE"):
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    # --- reading the request -------------------------------------------------
    def read_body(self, limit):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self.read_chunked(limit)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            length = int(length)
            if length < 0:
                raise ValueError
        except ValueError:
            raise BodyError(400, "bad Content-Length", close=True)
        if length > limit:
            if length > DISCARD_LIMIT:
                raise BodyError(413, "request body too large", close=True)
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 20))
                if not chunk:
                    break
                length -= len(chunk)
            raise BodyError(413, "request body too large")
        data = self.rfile.read(length)
        if len(data) != length:
            raise BodyError(400, "body shorter than Content-Length", close=True)
        return data

    def read_chunked(self, limit):
        parts, size, too_large = [], 0, False
        while True:
            line = self.rfile.readline(1024)
            try:
                chunk_size = int(line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BodyError(400, "bad chunk size", close=True)
            if chunk_size == 0:
                break
            size += chunk_size
            if size > DISCARD_LIMIT:
                raise BodyError(413, "request body too large", close=True)
            data = self.rfile.read(chunk_size)
            if len(data) != chunk_size or self.rfile.read(2) != b"\r\n":
                raise BodyError(400, "truncated chunk", close=True)
            too_large = too_large or size > limit
            if not too_large:
                parts.append(data)
        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
            pass  # trailers
        if too_large:
            raise BodyError(413, "request body too large")
        return b"".join(parts)

    # --- answering -------------------------------------------------------------
    def send(self, response):
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def reset(self):
        with self.server.resets_lock:
            self.server.resets.add(self.connection)
        self.close_connection = True

    def base_url(self):
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return "http://" + host

    def dispatch(self):
        started = time.time()
        app = self.server.app
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        try:
            body = self.read_body(app.body_limit(path))
        except BodyError as e:
            self.close_connection = self.close_connection or e.close
            response = json_response(e.status, app.error_body(path, e.status, str(e)))
            if path.startswith("/_double/"):
                self.send(response)
            else:
                self.answer(response, {
                    "time": started, "method": self.command, "path": path, "query": {},
                    "client_port": self.client_address[1],
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body_size": None, "body": None, "fault": None})
            return
        request = Request(self.command, self.path, self.headers, body, self.base_url())
        if request.path.startswith("/_double/"):
            self.send(self.control(request))
            return
        fault = self.server.faults.take(request)
        entry = {
            "time": started, "method": request.method, "path": request.path,
            "query": request.query, "client_port": self.client_address[1],
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_size": len(body), "body": None, "fault": fault, "status": None,
        }
        if len(body) <= LOGGED_BODY_LIMIT:
            try:
                entry["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                pass
        if fault and fault["kind"] == "delay":
            time.sleep(fault["seconds"])
        if fault and fault["when"] == "before" and fault["kind"] != "delay":
            self.apply_fault(fault, request, entry)
            return
        response = self.process(request)
        if fault and fault["when"] == "after" and fault["kind"] != "delay":
            self.apply_fault(fault, request, entry)
            return
        self.answer(response, entry)

    def answer(self, response, entry):
        # Logged before the answer goes out: a client that has its answer
        # finds the request in /_double/requests, even if the double is then killed.
        entry["status"] = response.status
        entry["answered_at"] = time.time()
        self.server.log.append(entry)
        self.send(response)

    def process(self, request):
        store = self.server.app.store
        with store.lock:
            try:
                response = self.server.app.handle(request)
            except HttpError as e:
                response = json_response(e.status, e.body, e.headers)
            except Exception:  # a bug of the double: say so, loudly, in stderr.log
                traceback.print_exc()
                body = self.server.app.error_body(request.path, 500, "double bug, see stderr.log")
                return json_response(500, body)
            if request.method not in ("GET", "HEAD") and response.status < 400:
                store.save()
        return response

    def apply_fault(self, fault, request, entry):
        kind = fault["kind"]
        if kind == "status":
            headers = dict(fault.get("headers") or {})
            if "retry_after" in fault:
                headers["Retry-After"] = str(fault["retry_after"])
            body = fault.get("body")
            if body is None:
                body = self.server.app.error_body(request.path, fault["status"], "injected fault")
            self.answer(json_response(fault["status"], body, headers), entry)
            return
        if kind == "reset":
            # The RST goes out in shutdown_request(), after the entry is logged below.
            self.reset()
        elif kind == "hang":
            # Logged before the sleep so that a test can see the request arrived.
            entry["answered_at"] = None
            self.server.log.append(entry)
            time.sleep(fault["seconds"])
            self.close_connection = True
            return
        entry["answered_at"] = time.time()
        self.server.log.append(entry)

    # --- control endpoints -----------------------------------------------------
    def control(self, request):
        server, app = self.server, self.server.app
        name = request.path[len("/_double/"):]
        try:
            payload = json.loads(request.body) if request.body else None
        except ValueError:
            return json_response(400, {"error": "control body is not JSON"})
        try:
            with app.store.lock:
                if name == "state" and request.method == "GET":
                    return json_response(200, app.view_state())
                if name == "requests" and request.method == "GET":
                    return json_response(200, server.log.snapshot())
                if name == "requests" and request.method == "DELETE":
                    server.log.clear()
                    return json_response(200, {})
                if name == "faults" and request.method == "POST":
                    server.faults.add(payload)
                    return json_response(200, {"faults": server.faults.pending()})
                if name == "faults" and request.method in ("GET", "DELETE"):
                    if request.method == "DELETE":
                        server.faults.clear()
                    return json_response(200, {"faults": server.faults.pending()})
                if name.startswith("blob/") and request.method == "GET":
                    path = app.store.blob_path(os.path.basename(name))
                    if not os.path.exists(path):
                        return json_response(404, {"error": "no such blob"})
                    with open(path, "rb") as f:
                        return Response(200, f.read(), {"Content-Type": "application/octet-stream"})
                response = app.control(request, name)
                if response is not None:
                    app.store.save()
                    return response
        except ValueError as e:
            return json_response(400, {"error": str(e)})
        return json_response(404, {"error": "no control endpoint %s %s" % (request.method, name)})


# --- running a double --------------------------------------------------------
def base_argument_parser(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state", required=True, help="directory holding the state")
    return parser


def serve(app, host, port):
    """Bind, print `PORT n` as the first stdout line, and serve until killed."""
    deadline = time.monotonic() + 10
    while True:
        try:
            server = DoubleServer((host, port), app)
            break
        except OSError as e:
            # A restart on the same port may race the old process's sockets.
            if e.errno != errno.EADDRINUSE or port == 0 or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


# --- the pytest side -----------------------------------------------------------
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class DoubleProcess:
    """A double running as a child process: `python3 -m MODULE --port P --state DIR ARGS`.
    kill() is SIGKILL; restart() starts it again on the same port and state."""

    def __init__(self, module, args=(), state_dir=None):
        self.module = module
        self.args = list(args)
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="double-")
        self.port = 0
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, timeout=15):
        os.makedirs(self.state_dir, exist_ok=True)
        stderr = open(os.path.join(self.state_dir, "stderr.log"), "ab")
        cmd = [sys.executable, "-m", self.module, "--port", str(self.port),
               "--state", self.state_dir] + self.args
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=stderr)
        stderr.close()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("PORT "):
            self.kill()
            with open(os.path.join(self.state_dir, "stderr.log"), errors="replace") as f:
                raise RuntimeError("%s did not start: %r\n%s" % (self.module, line, f.read()[-4000:]))
        self.port = int(line.split()[1])
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def restart(self):
        self.kill()
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def control(self, method, name, payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.url + "/_double/" + name, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read()
        return body if name.startswith("blob/") else json.loads(body)

    def state(self):
        return self.control("GET", "state")

    def requests(self):
        return self.control("GET", "requests")

    def faults(self, faults):
        return self.control("POST", "faults", faults)["faults"]

    def clear_faults(self):
        self.control("DELETE", "faults")

    def stop(self, stopped=True):
        return self.control("POST", "stop", {"stopped": stopped})

    def blob(self, digest):
        return self.control("GET", "blob/" + digest)
