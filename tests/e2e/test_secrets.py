"""Secrets never leave the process that needs them: canary values in the
credentials' variables, on the experiment's command line (--api-key=...) and
in its configuration (a `password` key) must not appear anywhere Aeromancy
writes or sends: the run directory (manifest, config, spool, cursors,
console log of aero-init), aero-init's own diagnostics, the trackers'
requests (beyond the one credential each tracker is sent in its
Authorization header), and the Kubernetes manifests aero-launch prints."""
import json
import os
import subprocess
import sys

from conftest import clean_env
from doubles.fixtures import mlflow_double, wandb_double  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT_PATH = os.path.join(ROOT, "image", "python")

CANARIES = {
    "AWS_SECRET_ACCESS_KEY": "canary-aws-7f3e9b1c0d2a",
    "AWS_SESSION_TOKEN": "canary-session-55aa66bb",
    "HF_TOKEN": "canary-hf-0badc0ffee",
    "MY_SERVICE_PASSWORD": "canary-pw-1d2e3f",
}
ARGV_CANARY = "canary-argv-9e8d7c6b"
CONFIG_CANARY = "canary-config-4a5b6c7d"

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
    for value in list(CANARIES.values()) + [ARGV_CANARY, CONFIG_CANARY]:
        if value in allowed:
            continue
        assert value not in text, "%s leaked into %s" % (value, where)


def test_no_secret_reaches_the_run_or_the_trackers(aero_init, tmp_path, wandb_double,
                                                    mlflow_double):
    run_dir = tmp_path / "run"
    # In a file: the command line is recorded, and the source is not a secret's place.
    script = tmp_path / "train.py"
    script.write_text(EXPERIMENT)
    env = clean_env({"PYTHONPATH": CLIENT_PATH, "AERO_TRACKER": "wandb,mlflow",
                     "AERO_TRACKER_INTERVAL": "200ms", "AERO_SYSTEM_INTERVAL": "300ms",
                     **wandb_double.env, **mlflow_double.env, **CANARIES})
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
            headers.pop("authorization", None)
            assert_no_canary(json.dumps([req["path"], req["query"], headers, req["body"]]),
                             "a request to the %s double" % type(double).__name__)
    wandb_key = wandb_double.api_key
    for req in mlflow_double.requests():
        assert wandb_key not in json.dumps(req), "the W&B key reached MLflow"
    for req in wandb_double.requests():
        assert mlflow_double.password not in json.dumps(req), "MLflow's password reached W&B"


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
