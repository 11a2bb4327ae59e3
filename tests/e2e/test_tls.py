"""TLS to the trackers is verified by default: a server whose certificate no
known CA signed is refused, with a message that names SSL_CERT_FILE, and
reached once SSL_CERT_FILE names its CA. The one opt-out,
MLFLOW_TRACKING_INSECURE_TLS=true, is explicit, said on stderr and recorded
in the manifest (run.tls_unverified). The store's TLS (no opt-out) is
checked in test_store.py (test_s3_tls_is_verified)."""
import http.server
import json
import ssl
import subprocess
import threading

import pytest

from conftest import clean_env


class TlsServer(http.server.ThreadingHTTPServer):
    """HTTPS with a self-signed certificate (openssl CLI), answering 404 to
    every request that gets through the handshake, and counting them."""

    def __init__(self, directory):
        self.cert, key = str(directory / "cert.pem"), str(directory / "key.pem")
        made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                               "-keyout", key, "-out", self.cert, "-days", "1", "-subj",
                               "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                              capture_output=True)
        assert made.returncode == 0, made.stderr
        self.paths = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def answer(handler):
                self.paths.append(handler.path)
                handler.send_response(404)
                handler.send_header("Content-Length", "0")
                handler.end_headers()

            do_GET = do_POST = answer
        super().__init__(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.url = "https://127.0.0.1:%d" % self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


@pytest.fixture
def tls_server(tmp_path):
    server = TlsServer(tmp_path)
    yield server
    server.shutdown()
    server.server_close()


def run(aero_init, tmp_path, server, name, **extra):
    env = clean_env({"AERO_TRACKER": "wandb,mlflow", "WANDB_API_KEY": "k" * 40,
                     "WANDB_BASE_URL": server.url, "MLFLOW_TRACKING_URI": server.url,
                     "AERO_TRACKER_TIMEOUT": "1s", **extra})
    env.pop("SSL_CERT_FILE", None)
    env.pop("SSL_CERT_DIR", None)
    env.update({k: v for k, v in extra.items() if k.startswith("SSL_")})
    run_dir = tmp_path / name
    r = subprocess.run([aero_init, "--run-dir", str(run_dir), "--", "true"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    with open(run_dir / "manifest.json") as f:
        return r.stderr, json.load(f)


def test_trackers_verify_tls_and_name_the_fix(aero_init, tmp_path, tls_server):
    stderr, manifest = run(aero_init, tmp_path, tls_server, "unknown-ca")
    assert tls_server.paths == []  # no request went past the handshake
    for tracker in ("wandb", "mlflow"):
        line = next(l for l in stderr.splitlines() if ("%s: registering" % tracker) in l)
        assert "certificate" in line and "set SSL_CERT_FILE" in line, line
    assert "tls_unverified" not in manifest["run"]
    # The CA given: the handshake passes, and the requests reach the server.
    stderr, manifest = run(aero_init, tmp_path, tls_server, "known-ca",
                           SSL_CERT_FILE=tls_server.cert)
    assert any(p.startswith("/api/2.0/mlflow/") for p in tls_server.paths), stderr
    assert any(p.startswith("/graphql") for p in tls_server.paths), stderr
    assert "SSL_CERT_FILE" not in stderr
    assert "tls_unverified" not in manifest["run"]
    # Or a hashed directory of CA certificates, as minimal images keep them.
    ca_dir = tmp_path / "certs"
    ca_dir.mkdir()
    (ca_dir / "test-ca.pem").write_bytes(open(tls_server.cert, "rb").read())
    subprocess.run(["openssl", "rehash", str(ca_dir)], check=True, capture_output=True)
    del tls_server.paths[:]
    stderr, _ = run(aero_init, tmp_path, tls_server, "ca-dir", SSL_CERT_DIR=str(ca_dir))
    assert any(p.startswith("/api/2.0/mlflow/") for p in tls_server.paths), stderr
    assert "SSL_CERT_FILE" not in stderr


def test_the_insecure_opt_out_is_said_and_recorded(aero_init, tmp_path, tls_server):
    stderr, manifest = run(aero_init, tmp_path, tls_server, "insecure",
                           AERO_TRACKER="mlflow", MLFLOW_TRACKING_INSECURE_TLS="true")
    assert "MLFLOW_TRACKING_INSECURE_TLS=true: the server's certificate is not checked" in stderr
    assert any(p.startswith("/api/2.0/mlflow/") for p in tls_server.paths), stderr
    assert manifest["run"]["tls_unverified"] == ["mlflow"]
    # Anything but "true" is no opt-out.
    stderr, manifest = run(aero_init, tmp_path, tls_server, "not-insecure",
                           AERO_TRACKER="mlflow", MLFLOW_TRACKING_INSECURE_TLS="1")
    assert "tls_unverified" not in manifest["run"] and "set SSL_CERT_FILE" in stderr
