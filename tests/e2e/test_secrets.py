"""Secrets never leave the process that needs them: canary values in the
credentials' variables (WANDB_API_KEY, AWS_SECRET_ACCESS_KEY,
MLFLOW_TRACKING_PASSWORD and more), on the experiment's command line
(--api-key=...) and in its configuration (a `password` key) must not appear
anywhere Aeromancy writes or sends: the run directory (manifest, config,
spool, cursors, console log of aero-init), aero-init's and aero-launch's own
diagnostics, on success and on every failure path (trackers down or
refusing, a store that denies, usage errors, a dirty checkout, no engine,
sync), the trackers' requests (beyond the one credential each tracker is sent
in its Authorization header), the store's requests, and the Kubernetes
manifests aero-launch prints."""
import http.server
import json
import os
import subprocess
import sys
import threading

import pytest

from conftest import clean_env
from doubles.fixtures import (MLFLOW_MODULE, MLFLOW_USERNAME, WANDB_ENTITY,  # noqa: F401
                              WANDB_MODULE, MlflowDouble, WandbDouble, mlflow_double,
                              wandb_double)
from helpers.gitrepo import git, git_env, make_project

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT_PATH = os.path.join(ROOT, "image", "python")

CANARIES = {
    "AWS_SECRET_ACCESS_KEY": "canary-aws-7f3e9b1c0d2a",
    "AWS_SESSION_TOKEN": "canary-session-55aa66bb",
    "HF_TOKEN": "canary-hf-0badc0ffee",
    "MY_SERVICE_PASSWORD": "canary-pw-1d2e3f",
}
# The trackers' own credentials (a W&B key is 40 characters).
WANDB_CANARY = "canary0wandb0key0" + "7" * 23
MLFLOW_CANARY = "canary-mlflow-pw-3c4d5e"
TRACKER_CANARIES = {"WANDB_API_KEY": WANDB_CANARY, "MLFLOW_TRACKING_USERNAME": MLFLOW_USERNAME,
                    "MLFLOW_TRACKING_PASSWORD": MLFLOW_CANARY}
ARGV_CANARY = "canary-argv-9e8d7c6b"
CONFIG_CANARY = "canary-config-4a5b6c7d"
ALL_CANARIES = list(CANARIES.values()) + [WANDB_CANARY, MLFLOW_CANARY, ARGV_CANARY,
                                          CONFIG_CANARY]

EXPERIMENT = """
import aeromancy, sys
aeromancy.config({"lr": 0.1, "password": "%s", "db": {"api_key": "%s"}, "max_tokens": 7})
aeromancy.log({"loss": 0.5})
aeromancy.summary({"done": 1})
""" % (CONFIG_CANARY, CONFIG_CANARY)


def files_under(path):
    for dirpath, _, names in os.walk(path):
        for name in names:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full) and os.path.isfile(full):
                yield full


def assert_no_canary(text, where, allowed=()):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for value in ALL_CANARIES:
        if value in allowed:
            continue
        assert value not in text, "%s leaked into %s" % (value, where)


def assert_no_canary_under(path):
    for name in files_under(path):
        with open(name, "rb") as f:
            assert_no_canary(f.read(), name)


@pytest.fixture
def canary_doubles(tmp_path):
    """The W&B and MLflow doubles, whose credentials are the canaries."""
    wandb = WandbDouble(WANDB_MODULE, ["--api-key", WANDB_CANARY, "--entity", WANDB_ENTITY],
                        str(tmp_path / "wandb-double"))
    wandb.api_key = WANDB_CANARY
    mlflow = MlflowDouble(MLFLOW_MODULE, ["--username", MLFLOW_USERNAME, "--password",
                                          MLFLOW_CANARY], str(tmp_path / "mlflow-double"))
    mlflow.username, mlflow.password = MLFLOW_USERNAME, MLFLOW_CANARY
    wandb.start()
    try:
        mlflow.start()
        yield wandb, mlflow
        mlflow.kill()
    finally:
        wandb.kill()


def test_no_secret_reaches_the_run_or_the_trackers(aero_init, tmp_path, canary_doubles):
    wandb_double, mlflow_double = canary_doubles
    run_dir = tmp_path / "run"
    # In a file: the command line is recorded, and the source is not a secret's place.
    script = tmp_path / "train.py"
    script.write_text(EXPERIMENT)
    env = clean_env({"PYTHONPATH": CLIENT_PATH, "AERO_TRACKER": "wandb,mlflow",
                     "AERO_TRACKER_INTERVAL": "200ms", "AERO_SYSTEM_INTERVAL": "300ms",
                     **wandb_double.env, **mlflow_double.env, **CANARIES})
    assert env["WANDB_API_KEY"] == WANDB_CANARY and env["MLFLOW_TRACKING_PASSWORD"] == MLFLOW_CANARY
    r = subprocess.run([aero_init, "-vv", "--run-dir", str(run_dir), "--", sys.executable,
                        str(script), "--api-key=" + ARGV_CANARY, "--password",
                        ARGV_CANARY], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert_no_canary(r.stdout + r.stderr, "aero-init's output")

    # Everything in the run directory, the spool and the cursors included.
    for path in files_under(run_dir):
        with open(path, "rb") as f:
            assert_no_canary(f.read().decode("utf-8", "replace"), path)
    # The secrets were there to find: the configuration kept the other keys,
    # and the manifest says the variables exist, redacted.
    config = json.loads((run_dir / "config.json").read_text())
    assert config == {"lr": 0.1, "password": "<redacted>", "db": {"api_key": "<redacted>"},
                      "max_tokens": 7}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "<redacted>" in manifest["run"]["argv"]
    # Every request each tracker got: bodies, queries and headers. Each
    # tracker's own credential goes in its Authorization header, and nowhere else.
    for double in (wandb_double, mlflow_double):
        requests = double.requests()
        assert requests, "the tracker got nothing: the test proves nothing"
        for req in requests:
            headers = dict(req["headers"])
            assert headers.pop("authorization", double.auth_header) == double.auth_header
            assert_no_canary(json.dumps([req["path"], req["query"], headers, req["body"]]),
                             "a request to the %s double" % type(double).__name__)


def test_no_secret_from_a_url_with_credentials(aero_init, tmp_path, canary_doubles):
    """Credentials in a URL (MLFLOW_TRACKING_URI=http://user:password@host, a
    recorded variable such as HF_ENDPOINT): used, never written or printed."""
    _, mlflow_double = canary_doubles
    url = mlflow_double.url.replace("://", "://%s:%s@" % (MLFLOW_USERNAME, MLFLOW_CANARY), 1)
    run_dir = tmp_path / "run"
    script = tmp_path / "train.py"
    script.write_text(EXPERIMENT)
    env = clean_env({"PYTHONPATH": CLIENT_PATH, "AERO_TRACKER": "mlflow",
                     "AERO_TRACKER_INTERVAL": "200ms", "MLFLOW_TRACKING_URI": url,
                     "HF_ENDPOINT": "https://hf:%s@hub.example" % MLFLOW_CANARY})
    r = subprocess.run([aero_init, "-vv", "--run-dir", str(run_dir), "--", sys.executable,
                        str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "mlflow: run http://127.0.0.1:" in r.stderr, r.stderr  # the run's URL, clean
    assert_no_canary(r.stdout + r.stderr, "aero-init's output")
    assert_no_canary_under(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["env"]["HF_ENDPOINT"]["redacted"] is True
    requests = mlflow_double.requests()
    assert any(req["path"].endswith("/runs/create") for req in requests), requests
    for req in requests:  # the URL's credentials went as Basic, and only there
        headers = dict(req["headers"])
        assert headers.pop("authorization") == mlflow_double.auth_header
        assert_no_canary(json.dumps([req["path"], req["query"], headers, req["body"]]),
                         "a request to the MLflow double")


def test_no_secret_in_kubernetes_manifests(aero_launch, tmp_path):
    env = clean_env({**CANARIES, "WANDB_API_KEY": "canary-wandb-key-0000000000000000000000",
                     "MLFLOW_TRACKING_PASSWORD": "canary-mlflow-pw"})
    r = subprocess.run([aero_launch, "k8s", "job", "--image", "registry.example/p:abc",
                        "--secret", "AWS_SECRET_ACCESS_KEY=s3:secret", "--secret",
                        "WANDB_API_KEY=wandb:key", "--tracker", "wandb", "--", "python3",
                        "train.py", "--api-key=" + ARGV_CANARY], env=env, capture_output=True,
                       timeout=30)
    text = (r.stdout + r.stderr).decode()
    assert r.returncode == 0, text
    assert_no_canary(text, "the Job manifest", allowed=(ARGV_CANARY,))
    for value in ("canary-wandb-key-0000000000000000000000", "canary-mlflow-pw"):
        assert value not in text
    assert "secretKeyRef" in text
    # An --env that would put a credential's value in the manifest is refused.
    r = subprocess.run([aero_launch, "k8s", "job", "--image", "registry.example/p:abc",
                        "--env", "AWS_SECRET_ACCESS_KEY", "--", "true"], env=env,
                       capture_output=True, timeout=30)
    assert r.returncode != 0
    assert CANARIES["AWS_SECRET_ACCESS_KEY"] not in (r.stdout + r.stderr).decode()


# ---- failure paths -------------------------------------------------------------

def canary_env(extra=None):
    return clean_env({**CANARIES, **TRACKER_CANARIES, **(extra or {})})


@pytest.mark.parametrize("where", ["down", "refusing"])
def test_no_secret_when_the_trackers_fail(aero_init, tmp_path, wandb_double, mlflow_double,
                                          where):
    """Trackers that are down, or that refuse the credentials (401): the run
    goes on, the failure is said, and no credential is in what is said; nor
    in what `aero-init sync` says when it fails again."""
    if where == "down":
        urls = {"WANDB_BASE_URL": "http://127.0.0.1:9", "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"}
    else:  # the doubles know other credentials than the canaries
        urls = {"WANDB_BASE_URL": wandb_double.url, "MLFLOW_TRACKING_URI": mlflow_double.url}
    script = tmp_path / "train.py"
    script.write_text(EXPERIMENT)
    run_dir = tmp_path / "run"
    env = canary_env({"PYTHONPATH": CLIENT_PATH, "AERO_TRACKER": "wandb,mlflow",
                      "AERO_TRACKER_TIMEOUT": "2s", "AERO_HTTP_TIMEOUT": "2s", **urls})
    r = subprocess.run([aero_init, "-vv", "--run-dir", str(run_dir), "--", sys.executable,
                        str(script), "--api-key=" + ARGV_CANARY], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "wandb" in r.stderr and "mlflow" in r.stderr  # the failures were said
    assert_no_canary(r.stdout + r.stderr, "aero-init's output (trackers %s)" % where)
    assert_no_canary_under(run_dir)
    r = subprocess.run([aero_init, "sync", "--timeout", "3s", str(run_dir)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert_no_canary(r.stdout + r.stderr, "aero-init sync's output (trackers %s)" % where)
    if where == "refusing":
        for double in (wandb_double, mlflow_double):
            assert double.requests(), "nothing was refused: the test proves nothing"
            for req in double.requests():
                assert_no_canary(json.dumps([req["path"], req["query"], req["body"]]),
                                 "a refused request")


class DenyingS3(http.server.ThreadingHTTPServer):
    """An S3 endpoint that denies everything (403 AccessDenied), as one whose
    policy does not let the credentials in; it keeps every request."""

    def __init__(self):
        self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(handler):
                length = int(handler.headers.get("Content-Length") or 0)
                body = handler.rfile.read(length) if length else b""
                self.seen.append((handler.requestline, str(handler.headers), body))
                text = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied"
                        b"</Code><Message>Access Denied</Message></Error>")
                handler.send_response(403)
                handler.send_header("Content-Type", "application/xml")
                handler.send_header("Content-Length", str(len(text)))
                handler.end_headers()
                if handler.command != "HEAD":
                    handler.wfile.write(text)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = answer
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.mark.parametrize("where", ["denying", "down"])
def test_no_secret_when_the_store_fails(aero_init, tmp_path, where):
    server = DenyingS3() if where == "denying" else None
    endpoint = "http://127.0.0.1:%d" % (server.server_address[1] if server else 9)
    env = canary_env({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "AKIACANARYID",
                      "AWS_REGION": "us-east-1", "AERO_HTTP_TIMEOUT": "2s"})
    data = tmp_path / "data.bin"
    data.write_bytes(b"x" * 1000)
    try:
        for args in (["ls", "s3://bucket/p"], ["put", "s3://bucket/p", "k", str(data)],
                     ["get", "s3://bucket/p", "k", str(tmp_path / "out")]):
            r = subprocess.run([aero_init, "store", *args], env=env, capture_output=True,
                               timeout=60)
            assert r.returncode != 0, args
            assert_no_canary(r.stdout + r.stderr, "aero-init store %s (%s)" % (args[0], where))
            if server:
                assert b"AccessDenied" in r.stderr or b"denied" in r.stderr.lower(), r.stderr
        if server:
            # Signed requests: the secret signs, it is never sent.
            assert server.seen, "the store got nothing: the test proves nothing"
            # The session token is sent, as S3 wants it: in its header alone.
            token = CANARIES["AWS_SESSION_TOKEN"]
            for line, headers, body in server.seen:
                assert "AKIACANARYID" in headers  # the key id goes, in the signature's scope
                assert headers.count(token) == 1
                assert "x-amz-security-token: " + token in headers.lower()
                assert_no_canary(line + headers + body.decode("latin-1"), "a request to S3",
                                 allowed=(token,))
    finally:
        if server:
            server.shutdown()
            server.server_close()


AERO_INIT_COMMANDS = [[], ["store"], ["log"], ["diff"], ["capture"], ["sync"]]
AERO_LAUNCH_COMMANDS = [[], ["run"], ["k8s", "job"], ["context"], ["check"], ["push"],
                        ["runs", "ls"]]


@pytest.mark.parametrize("form", ["--api-key=%s", "--password=%s", "--token=%s"])
def test_usage_errors_do_not_echo_a_secret(aero_init, aero_launch, form):
    """An option the command does not know, with a secret as its value: the
    error names the option, not the value (getopt's own message would)."""
    arg = form % ARGV_CANARY
    name = arg.split("=")[0]
    for program, commands in ((aero_init, AERO_INIT_COMMANDS),
                              (aero_launch, AERO_LAUNCH_COMMANDS)):
        for command in commands:
            r = subprocess.run([program, *command, arg, "--", "true"], env=canary_env(),
                               capture_output=True, timeout=30)
            what = " ".join([os.path.basename(program), *command, arg])
            assert r.returncode != 0, what
            assert_no_canary(r.stdout + r.stderr, what)
            assert name.encode() in r.stderr or b"Usage" in r.stdout + r.stderr, (what, r.stderr)


def test_no_secret_in_aero_launch_errors(aero_launch, tmp_path):
    """aero-launch refusing a dirty checkout, or finding no engine, with every
    credential in its environment (which it passes by name): not one value in
    what it says, with -v too."""
    env = git_env(tmp_path)
    repo = make_project(tmp_path, env, files={"Dockerfile": "FROM aeromancy/base\n",
                                              "train.py": "print('hello')\n"})
    env = {**env, **CANARIES, **TRACKER_CANARIES, "AERO_RUNS_DIR": str(tmp_path / "runs"),
           "DOCKER_HOST": "unix://%s/no-engine.sock" % tmp_path}
    forwarded = ["-e", "AWS_SECRET_ACCESS_KEY", "-e", "WANDB_API_KEY", "--tracker", "wandb"]
    r = subprocess.run([aero_launch, "run", "-C", repo, *forwarded, "--", "python3", "train.py",
                        "--api-key=" + ARGV_CANARY], env=env, capture_output=True, timeout=60)
    assert r.returncode != 0 and b"no-engine.sock" in r.stderr, r.stderr
    assert_no_canary(r.stdout + r.stderr, "aero-launch run without an engine",
                     allowed=(ARGV_CANARY,))
    assert ARGV_CANARY.encode() not in r.stderr
    with open(os.path.join(repo, "train.py"), "a") as f:
        f.write("# an edit\n")
    r = subprocess.run([aero_launch, "run", "-C", repo, *forwarded, "--", "python3", "train.py",
                        "--api-key=" + ARGV_CANARY], env=env, capture_output=True, timeout=60)
    assert r.returncode != 0 and b"train.py" in r.stderr, r.stderr
    assert_no_canary(r.stdout + r.stderr, "aero-launch run in a dirty checkout")
    git(repo, "checkout", "train.py", env=env)
    r = subprocess.run([aero_launch, "check", "-C", repo], env=env, capture_output=True,
                       timeout=60)
    assert_no_canary(r.stdout + r.stderr, "aero-launch check")
