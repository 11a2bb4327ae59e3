"""A real moto_server on a free local port, with an IAM user whose keys it
checks once signatures are switched on (reset_auth), a role to assume for
session credentials, and the aws CLI pointed at it. Used by the store tests
and bench/store.py."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ACCOUNT = "123456789012"  # moto's default account
ALLOW_ALL = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TRUST_ALL = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                       "Action": "sts:AssumeRole"}]})


def missing_programs():
    """The programs these servers need that are not on PATH."""
    return [p for p in ("moto_server", "aws") if shutil.which(p) is None]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(home):
    """The caller's environment without AWS or Aeromancy settings, HOME set
    to home so that no ~/.aws is read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AERO_"))}
    env.update({"HOME": str(home), "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": os.path.join(str(home), "aws-config")})
    return env


class MotoServer:
    def __init__(self, workdir=None, part_min_size=None, extra_args=(), scheme="http"):
        self.dir = workdir or tempfile.mkdtemp(prefix="aero-moto-")
        self.port = free_port()
        self.endpoint = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.log_path = os.path.join(self.dir, "moto-%d.log" % self.port)
        env = base_env(self.dir)
        if part_min_size is not None:
            env["S3_UPLOAD_PART_MIN_SIZE"] = str(part_min_size)
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            ["moto_server", "-H", "127.0.0.1", "-p", str(self.port), *extra_args],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.key_id = self.secret = None
        self.session = None

    def wait_ready(self, timeout=30, context=None):
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("moto_server exited (%s): %s" % (self.proc.returncode,
                                                                   self.log_tail()))
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/data.json", timeout=2,
                                       context=context).read()
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > end:
                    raise RuntimeError("moto_server did not answer: " + self.log_tail())
                time.sleep(0.1)

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-3000:].decode(errors="replace")
        except OSError:
            return ""

    def aws_env(self, key_id=None, secret=None, token=None):
        env = base_env(self.dir)
        env["AWS_ACCESS_KEY_ID"] = key_id or self.key_id or "testing"
        env["AWS_SECRET_ACCESS_KEY"] = secret or self.secret or "testing"
        if token:
            env["AWS_SESSION_TOKEN"] = token
        return env

    def aws(self, *args, check=True, **kw):
        """Runs the aws CLI against this server; its stdout as text."""
        res = subprocess.run(["aws", "--endpoint-url", self.endpoint, *args],
                             env=kw.pop("env", None) or self.aws_env(), capture_output=True,
                             timeout=120, **kw)
        if check and res.returncode != 0:
            raise AssertionError("aws %s failed: %s" % (" ".join(args),
                                                       res.stderr.decode(errors="replace")))
        return res.stdout.decode(errors="replace")

    def set_up_iam(self):
        """An IAM user allowed everything (its keys become the default ones) and
        a role it may assume, whose temporary credentials are in self.session."""
        self.aws("iam", "create-user", "--user-name", "aero")
        key = json.loads(self.aws("iam", "create-access-key", "--user-name", "aero"))
        self.aws("iam", "put-user-policy", "--user-name", "aero", "--policy-name", "all",
                 "--policy-document", ALLOW_ALL)
        self.key_id = key["AccessKey"]["AccessKeyId"]
        self.secret = key["AccessKey"]["SecretAccessKey"]
        self.aws("iam", "create-role", "--role-name", "aero-role",
                 "--assume-role-policy-document", TRUST_ALL)
        self.aws("iam", "put-role-policy", "--role-name", "aero-role", "--policy-name", "all",
                 "--policy-document", ALLOW_ALL)
        creds = json.loads(self.aws("sts", "assume-role", "--role-arn",
                                    "arn:aws:iam::%s:role/aero-role" % ACCOUNT,
                                    "--role-session-name", "aero-test"))["Credentials"]
        self.session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])

    def reset_auth(self, value):
        """"0": every request must be signed by a known key; "inf": none must."""
        req = urllib.request.Request(self.endpoint + "/moto-api/reset-auth",
                                     data=value.encode(), method="POST",
                                     headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(req, timeout=10).read()

    def raw(self, method, path, data=None):
        """An unsigned request (only while signatures are off): status, body."""
        # Without a Content-Type, urllib sends a form, whose body moto's Flask eats.
        req = urllib.request.Request(self.endpoint + path, data=data, method=method,
                                     headers={"Content-Type": "application/octet-stream"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
