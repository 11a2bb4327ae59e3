"""`aero-launch k8s job`: the Job it prints is checked three ways: against the
Kubernetes API's own schemas (kubernetes-models, run by tests/k8s/check.mjs),
by a strict structural check here, and by starting the real aero-init with
exactly the environment the kubelet would give the container."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

from test_privileges import CAP_NET_BIND_SERVICE, shared, status_fields, userdb  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHECKER = os.path.join(ROOT, "tests", "k8s", "check.mjs")
DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGE = "127.0.0.1:5000/team/exp@" + DIGEST
RUNS_MOUNT = "/var/lib/aeromancy/runs"

# Strings a careless emitter gets wrong: YAML 1.1 booleans, numbers, indicators,
# comments, quotes, escapes, line breaks, non-ASCII, and Unicode line separators.
TRICKY = ["yes", "No", "on", "OFF", "y", "n", "null", "~", "true", "1e3", "0x1F", "012",
          "1:20", "3e-4", ".inf", "-.5", "+1", "-", "- a", "a: b", "a:", "#c", "a #b", "'q'",
          '"dq"', "\\", "tab\there", "new\nline", "cr\rx", "", " lead", "trail ", "ünïcödé",
          "line\u2028sep", "nel\u0085x", "bom\ufeffx", "bell\x07", "[x]", "{y: 1}", "*a",
          "&b", "!t", "%d", "@x", "`x", ">", "|", "?", ",", "2024-01-01", "=", "<<", "a,b",
          "--lr", "--", "/dev/shm", "日本語", "emoji \U0001F600"]


@pytest.fixture(scope="module")
def checker():
    if shutil.which("node") is None:
        pytest.fail("node is missing: apt-get install nodejs npm (.ci/deps.sh does)")
    if not os.path.isdir(os.path.join(ROOT, "tests", "k8s", "node_modules", "kubernetes-models")):
        pytest.fail("the schema checker's packages are missing: run 'npm ci' in tests/k8s "
                    "(.ci/run does)")

    def check(text, tmp_path, as_json=False):
        path = tmp_path / ("job-%d.yaml" % len(list(tmp_path.iterdir())))
        path.write_text(text)
        return subprocess.run(["node", CHECKER] + (["--json"] if as_json else []) + [str(path)],
                              capture_output=True, text=True, timeout=60)
    return check


@pytest.fixture
def launch(aero_launch, tmp_path):
    """aero-launch with a runs directory of the test's own (where push records go)."""
    runs = tmp_path / "runs"

    def _launch(*args, env=None):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("AERO_")}
        full_env.update({"AERO_RUNS_DIR": str(runs)}, **(env or {}))
        return subprocess.run([aero_launch, *args], capture_output=True, env=full_env,
                              timeout=30)
    _launch.runs = runs
    return _launch


def job_text(launch, *args):
    r = launch("k8s", "job", *args)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


FULL = ["--image", IMAGE, "--name", "lr-sweep-1", "--namespace", "ml", "--run-id", "Run_42.a",
        "--cpu", "4", "--memory", "16Gi", "--gpus", "2", "--secret",
        "WANDB_API_KEY=wandb-creds:api-key", "--secret", "AWS_SECRET_ACCESS_KEY=s3:secret",
        "--env", "OMP_NUM_THREADS=4", "--grace", "45s", "--tracker", "wandb,local", "--seed",
        "1234", "--", "python3", "train.py", "--lr", "3e-4"]


def test_full_job_passes_the_kubernetes_schema(launch, checker, tmp_path):
    r = checker(job_text(launch, *FULL), tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Job lr-sweep-1: valid" in r.stdout


def test_the_schema_checker_rejects_a_broken_job(launch, checker, tmp_path):
    """The checker can fail: a container name that is not a string is refused."""
    doc = yaml.safe_load(job_text(launch, *FULL))
    doc["spec"]["template"]["spec"]["containers"][0]["name"] = 7
    r = checker(yaml.safe_dump(doc), tmp_path)
    assert r.returncode == 1
    assert "containers/0/name must be string" in r.stdout
    doc["spec"]["template"]["spec"]["containers"][0]["name"] = "experiment"
    doc["spec"]["backoffLimit"] = "zero"
    r = checker(yaml.safe_dump(doc), tmp_path)
    assert r.returncode == 1 and "backoffLimit" in r.stdout


def env_of(container):
    return {e["name"]: e for e in container["env"]}


def test_full_job_structure(launch):
    doc = yaml.safe_load(job_text(launch, *FULL))
    assert set(doc) == {"apiVersion", "kind", "metadata", "spec"}
    assert (doc["apiVersion"], doc["kind"]) == ("batch/v1", "Job")
    assert doc["metadata"]["name"] == "lr-sweep-1" and doc["metadata"]["namespace"] == "ml"
    assert doc["metadata"]["annotations"] == {"aeromancy/run-id": "Run_42.a"}
    assert set(doc["spec"]) == {"backoffLimit", "template"}
    assert doc["spec"]["backoffLimit"] == 0
    pod = doc["spec"]["template"]["spec"]
    assert set(pod) == {"restartPolicy", "terminationGracePeriodSeconds", "containers", "volumes"}
    assert pod["restartPolicy"] == "Never"
    # Longer than aero-init's own grace period and, with a tracker (wandb here),
    # its tracker timeout, so the kubelet never kills it first.
    assert pod["terminationGracePeriodSeconds"] == 45 + 30 + 60
    assert pod["volumes"] == [{"name": "aero-runs", "emptyDir": {}}]
    [c] = pod["containers"]
    assert set(c) == {"name", "image", "command", "args", "env", "resources", "volumeMounts",
                      "securityContext"}
    assert c["securityContext"] == security()
    assert c["image"] == IMAGE
    assert c["command"] == ["/usr/bin/aero-init", "--"]
    assert c["args"] == ["python3", "train.py", "--lr", "3e-4"]
    assert c["volumeMounts"] == [{"name": "aero-runs", "mountPath": RUNS_MOUNT}]
    assert c["resources"] == {
        "requests": {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "2"},
        "limits": {"memory": "16Gi", "nvidia.com/gpu": "2"}}
    plain = env_parts(c)
    assert plain == {"AERO_RUN_ID": "Run_42.a", "AERO_RUN_DIR": RUNS_MOUNT + "/Run_42.a",
                     "AERO_IMAGE": IMAGE, "AERO_GRACE_PERIOD": "45s", "AERO_SEED": "1234",
                     "AERO_TRACKER": "wandb,local", "OMP_NUM_THREADS": "4"}


# The names shim/capture/k8s.c reads the downward API's facts from.
DOWNWARD = {"AERO_POD_NAME": "metadata.name", "AERO_POD_NAMESPACE": "metadata.namespace",
            "AERO_POD_UID": "metadata.uid", "AERO_NODE_NAME": "spec.nodeName",
            "AERO_POD_IP": "status.podIP", "AERO_SERVICE_ACCOUNT": "spec.serviceAccountName"}


def env_parts(container):
    """Checks that a container with FULL's secrets sets each variable once,
    the downward API's facts and the secrets by reference; the plain values."""
    env = env_of(container)
    assert len(env) == len(container["env"])  # each name once
    plain = {k: v["value"] for k, v in env.items() if "value" in v}
    fields = {k: v["valueFrom"]["fieldRef"]["fieldPath"] for k, v in env.items()
              if "fieldRef" in v.get("valueFrom", {})}
    assert fields == DOWNWARD
    secrets = {k: v["valueFrom"]["secretKeyRef"] for k, v in env.items()
               if "secretKeyRef" in v.get("valueFrom", {})}
    assert secrets == {"WANDB_API_KEY": {"name": "wandb-creds", "key": "api-key"},
                       "AWS_SECRET_ACCESS_KEY": {"name": "s3", "key": "secret"}}
    assert len(plain) + len(fields) + len(secrets) == len(env)
    return plain


def test_minimal_job_has_defaults_and_no_resources(launch, checker, tmp_path):
    text = job_text(launch, "--image", IMAGE, "--", "true")
    doc = yaml.safe_load(text)
    c = doc["spec"]["template"]["spec"]["containers"][0]
    assert "resources" not in c
    run_id = env_of(c)["AERO_RUN_ID"]["value"]
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{8}", run_id)  # sorts by time, as aero-init's
    assert doc["metadata"]["name"] == "aero-" + run_id
    assert env_of(c)["AERO_GRACE_PERIOD"]["value"] == "10s"
    assert doc["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 40
    assert "namespace" not in doc["metadata"]
    assert checker(text, tmp_path).returncode == 0
    other = yaml.safe_load(job_text(launch, "--image", IMAGE, "--", "true"))
    assert other["metadata"]["name"] != doc["metadata"]["name"]


# The securityContext each case gets: aero-init's needs (doc/security.md, "In
# Kubernetes") plus --caps, the rest dropped; no_new_privs; the runtime's seccomp profile.
def security(add=None, ape=False, **ids):
    sc = {"allowPrivilegeEscalation": ape, "capabilities": {"drop": ["ALL"]},
          "seccompProfile": {"type": "RuntimeDefault"}}
    if add:
        sc["capabilities"]["add"] = add
    sc.update(ids)
    return sc


SWITCH = ["CHOWN", "KILL", "SETGID", "SETUID", "SETPCAP"]  # what --user needs of aero-init

SECURITY_CASES = [
    # aero-init keeps the experiment root, without capabilities: it needs none.
    ([], security(), {}),
    # Root with one capability: the bounding set is already just that one.
    (["--caps", "cap_net_bind_service"], security(["NET_BIND_SERVICE"]),
     {"AERO_CAPS": "cap_net_bind_service"}),
    # A named user: aero-init switches (as root) and hands on SYS_PTRACE.
    (["--user", "trainer:data", "--caps", "SYS_PTRACE,cap_sys_ptrace", "--hermetic"],
     security(SWITCH + ["SYS_PTRACE"]),
     {"AERO_USER": "trainer:data", "AERO_CAPS": "SYS_PTRACE,cap_sys_ptrace",
      "AERO_HERMETIC": "1"}),
    # Numbers with nothing to hand on: the kubelet starts aero-init as that user.
    (["--user", "1000:2000"], security(runAsUser=1000, runAsGroup=2000, runAsNonRoot=True), {}),
    (["--user", "1000", "--allow-new-privs"],
     security(ape=True, runAsUser=1000, runAsNonRoot=True), {"AERO_ALLOW_NEW_PRIVS": "1"}),
    # Root by number, or numbers with --caps: aero-init must be root to switch.
    (["--user", "0"], security(SWITCH), {"AERO_USER": "0"}),
    (["--user", "1000", "--caps", "net_bind_service"],
     security(["CHOWN", "KILL", "SETGID", "SETUID", "SETPCAP", "NET_BIND_SERVICE"]),
     {"AERO_USER": "1000", "AERO_CAPS": "net_bind_service"}),
    # A claim may be another user's: aero-init writes the run directory as root.
    (["--runs-pvc", "team-runs"], security(["DAC_OVERRIDE", "SETPCAP"]), {}),
]


@pytest.mark.parametrize("args,context,settings", SECURITY_CASES)
def test_security_context_gives_aero_init_only_what_it_needs(launch, checker, tmp_path, args,
                                                             context, settings):
    """--user, --caps, --hermetic and --allow-new-privs: AERO_* for aero-init, and
    a securityContext that gives aero-init what it needs for them and no more."""
    text = job_text(launch, "--image", IMAGE, *args, "--", "true")
    doc = yaml.safe_load(text)
    pod = doc["spec"]["template"]["spec"]
    [c] = pod["containers"]
    assert c["securityContext"] == context
    assert "securityContext" not in pod
    env = env_of(c)
    names = {"AERO_USER", "AERO_CAPS", "AERO_HERMETIC", "AERO_ALLOW_NEW_PRIVS"}
    assert {k: env[k]["value"] for k in names & set(env)} == settings
    r = checker(text, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


# The Pod Security Standards' container rules (kubernetes.io/docs/concepts/security/
# pod-security-standards), as the admission controller applies them.
BASELINE_CAPS = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                 "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}


def pod_security_level(container):
    sc = container["securityContext"]
    add = set(sc["capabilities"].get("add", []))
    if sc.get("privileged") or not add <= BASELINE_CAPS:
        return "privileged"
    restricted = (sc.get("allowPrivilegeEscalation") is False and sc.get("runAsNonRoot") is True
                  and sc.get("runAsUser") != 0 and "ALL" in sc["capabilities"]["drop"]
                  and add <= {"NET_BIND_SERVICE"}
                  and sc["seccompProfile"]["type"] in ("RuntimeDefault", "Localhost"))
    return "restricted" if restricted else "baseline"


@pytest.mark.parametrize("args,level", [
    ([], "baseline"), (["--user", "trainer"], "baseline"), (["--runs-pvc", "r"], "baseline"),
    (["--user", "1000:1000"], "restricted"), (["--user", "1000", "--allow-new-privs"], "baseline"),
    (["--caps", "sys_admin"], "privileged")])
def test_pod_security_standard_met(launch, args, level):
    """Numeric users run in a `restricted` namespace; what needs aero-init as
    root stays within `baseline` unless --caps asks for more."""
    doc = yaml.safe_load(job_text(launch, "--image", IMAGE, *args, "--", "true"))
    assert pod_security_level(doc["spec"]["template"]["spec"]["containers"][0]) == level


def test_no_securitycontext_option_is_left_unchecked(launch):
    """Kubernetes would take an unknown capability and the pod would fail to
    start; it is refused here first, as is what aero-init would refuse."""
    r = launch("k8s", "job", "--image", IMAGE, "--caps", "cap_fly", "--", "true")
    assert r.returncode == 2 and b"'cap_fly' is not a capability" in r.stderr
    r = launch("k8s", "job", "--image", IMAGE, "--hermetic", "--allow-new-privs", "--", "true")
    assert r.returncode == 2 and b"needs CAP_SYS_ADMIN" in r.stderr
    # With SYS_ADMIN aero-init can install the filter without no_new_privs.
    r = launch("k8s", "job", "--image", IMAGE, "--hermetic", "--allow-new-privs", "--caps",
               "sys_admin", "--", "true")
    assert r.returncode == 0, r.stderr


def runtime_exec(security_context, command):
    """The command as a container runtime starts it for the securityContext: the
    bounding set the capabilities left (root's effective and permitted set then,
    a user other than root holds none), no_new_privs, runAsUser/runAsGroup with
    no supplementary groups. setpriv(1) applies them; seccomp is left out."""
    caps = security_context["capabilities"]
    assert caps["drop"] == ["ALL"]
    keep = "".join(",+" + name.lower() for name in caps.get("add", []))
    args = ["setpriv", "--bounding-set", "-all" + keep, "--inh-caps", "-all",
            "--ambient-caps", "-all"]
    if security_context["allowPrivilegeEscalation"] is False:
        args.append("--no-new-privs")
    if "runAsUser" in security_context:
        args += ["--reuid", str(security_context["runAsUser"]), "--regid",
                 str(security_context.get("runAsGroup", 0)), "--clear-groups"]
    return args + ["--"] + command


@pytest.mark.skipif(os.geteuid() != 0, reason="a container runtime's root is needed")
@pytest.mark.parametrize("args,uid,caps", [
    ([], 0, 0),
    (["--caps", "cap_net_bind_service"], 0, CAP_NET_BIND_SERVICE),
    (["--user", "aerotest", "--caps", "cap_net_bind_service"], 4711, CAP_NET_BIND_SERVICE),
    (["--user", "4711:4712"], 4711, 0),
    (["--runs-pvc", "team-runs"], 0, 0),
])
def test_aero_init_works_within_the_security_context(launch, shared, userdb, tmp_path, args,
                                                     uid, caps):
    """aero-init started as the runtime would start it for the manifest: it
    can do what it is asked with what it is given, and the experiment ends up
    with exactly the --caps it asked for, under no_new_privs."""
    doc = yaml.safe_load(job_text(launch, "--image", IMAGE, "--run-id", "sc", *args, "--",
                                  "cat", "/proc/self/status"))
    c = doc["spec"]["template"]["spec"]["containers"][0]
    volume = tempfile.mkdtemp(dir=shared)
    os.chmod(volume, 0o777)  # an emptyDir
    if "--runs-pvc" in args:
        os.chown(volume, 4720, 4720)  # a claim of another user's
        os.chmod(volume, 0o755)
    env = kubelet_env(c, volume)
    command = runtime_exec(c["securityContext"],
                           [os.path.join(shared, "aero-init"), *c["command"][1:], *c["args"]])
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && '
                        'shift 2 && exec "$@"', "sh", *userdb, *command],
                       env=env, capture_output=True, text=True, timeout=60, cwd=shared)
    assert r.returncode == 0, r.stderr
    got = status_fields(r.stdout)
    assert (got["CapEff"], got["CapPrm"], got["CapBnd"]) == (caps, caps, caps)
    assert got["NoNewPrivs"] == 1
    assert "\nUid:\t%d\t%d\t%d\t%d\n" % (uid, uid, uid, uid) in r.stdout
    p = json.load(open(os.path.join(volume, "sc", "manifest.json")))["run"]["privileges"]
    assert p["uid"] == uid and p["no_new_privs"] is True


def test_security_context_exceeds_nothing_aero_init_needs(launch, shared, userdb):
    """The test above can fail: without CAP_SETUID aero-init cannot switch to
    --user, and says what to do."""
    doc = yaml.safe_load(job_text(launch, "--image", IMAGE, "--user", "aerotest", "--", "true"))
    c = doc["spec"]["template"]["spec"]["containers"][0]
    c["securityContext"]["capabilities"]["add"].remove("SETUID")
    command = runtime_exec(c["securityContext"],
                           [os.path.join(shared, "aero-init"), *c["command"][1:], *c["args"]])
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && '
                        'shift 2 && exec "$@"', "sh", *userdb, *command],
                       env=kubelet_env(c, tempfile.mkdtemp(dir=shared)), capture_output=True, text=True, timeout=60,
                       cwd=shared)
    assert r.returncode == 125 and "without CAP_SETUID and CAP_SETGID" in r.stderr, r.stderr


def test_runs_on_a_claim_and_cpu_only_requests(launch, checker, tmp_path):
    text = job_text(launch, "--image", IMAGE, "--runs-pvc", "team-runs", "--cpu", "500m",
                    "--grace", "1500ms", "--run-id", "x", "--", "true")
    doc = yaml.safe_load(text)
    pod = doc["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "aero-runs",
                               "persistentVolumeClaim": {"claimName": "team-runs"}}]
    assert pod["containers"][0]["resources"] == {"requests": {"cpu": "500m"}}
    assert pod["terminationGracePeriodSeconds"] == 2 + 30
    assert env_of(pod["containers"][0])["AERO_GRACE_PERIOD"]["value"] == "1500ms"
    assert checker(text, tmp_path).returncode == 0


def test_tricky_strings_read_back_the_same_in_yaml_1_1_and_1_2(launch, checker, tmp_path):
    flat = [a for i, s in enumerate(TRICKY) for a in ("--env", "V%d=%s" % (i, s))]
    text = job_text(launch, "--image", IMAGE, "--run-id", "q", *flat, "--", *TRICKY)
    for doc in (yaml.safe_load(text),  # YAML 1.1, as PyYAML and Go's yaml.v2 read it
                json.loads(checker(text, tmp_path, as_json=True).stdout)):  # YAML 1.2 core
        c = doc["spec"]["template"]["spec"]["containers"][0]
        assert c["args"] == TRICKY
        values = {e["name"]: e.get("value") for e in c["env"]}
        assert [values["V%d" % i] for i in range(len(TRICKY))] == TRICKY


def test_plain_scalars_only_where_safe(launch):
    text = job_text(launch, "--image", IMAGE, "--run-id", "r", "--", "yes", "python3", "1e3")
    assert "\n        - \"yes\"\n        - python3\n        - \"1e3\"\n" in text
    assert "\n  backoffLimit: 0\n" in text  # a number, not a string


@pytest.mark.parametrize("args,message", [
    (["--env", "WANDB_API_KEY=abc"], "--secret WANDB_API_KEY=SECRET:KEY"),
    (["--env", "NOEQUALS"], "is not NAME=VALUE"),
    (["--env", "1BAD=x"], "is not a variable name"),
    (["--secret", "TOKEN=onlyname"], "is not ENV=SECRET:KEY"),
    (["--secret", "TOKEN=Bad_Name:key"], "is not a DNS subdomain"),
    (["--secret", "TOKEN=s:bad key"], "is not a key of a Secret"),
    (["--cpu", "lots"], "is not a CPU quantity"),
    (["--cpu", "0"], "is not a CPU quantity"),
    (["--memory", "8GB"], "is not a memory quantity"),
    (["--gpus", "-1"], "--gpus"),
    (["--name", "Not_A_Label"], "is not a DNS label"),
    (["--namespace", "x" * 64], "is not a DNS label"),
    (["--runs-pvc", "-claim"], "is not a DNS subdomain"),
    (["--grace", "soon"], "--grace"),
    (["--tracker", "wandb,tensorboard"], "'tensorboard' is not a tracker"),
    (["--seed", "-3"], "is not a seed"),
    (["--seed", "18446744073709551616"], "is not a seed"),
    (["--run-id", ".hidden"], "is not a run id"),
    (["--env", "AERO_RUN_ID=mine"], "AERO_RUN_ID is set twice"),
    (["--env", "X=1", "--secret", "X=s:k"], "X is set twice"),
    (["--image", "UPPER/case@" + DIGEST], "is not a repository name"),
    (["--image", "repo@sha256:abc"], "the digest must be"),
    (["--frobnicate"], "unknown option '--frobnicate'"),
])
def test_what_kubernetes_would_refuse_is_refused_first(launch, args, message):
    base = [] if any(a == "--image" for a in args) else ["--image", IMAGE]
    r = launch("k8s", "job", *base, *args, "--", "true")
    assert r.returncode == 2, r.stderr
    assert r.stdout == b""
    assert message in r.stderr.decode(), r.stderr


def test_command_and_subcommand_are_required(launch):
    r = launch("k8s", "job", "--image", IMAGE)
    assert r.returncode == 2 and b"no command given" in r.stderr
    r = launch("k8s")
    assert r.returncode == 2 and b"aero-launch k8s job" in r.stderr
    r = launch("k8s", "workflow")
    assert r.returncode == 2 and b"only 'job'" in r.stderr


def test_text_that_is_not_utf8_is_refused(launch):
    r = launch("k8s", "job", "--image", IMAGE, "--", b"caf\xe9")
    assert r.returncode == 2  # a command line it cannot act on
    assert b"is not UTF-8 text" in r.stderr and b"apiVersion" not in r.stdout


def test_a_write_error_is_internal(aero_launch):
    """74, aero-launch's status for an I/O error (host/status.h)."""
    with open("/dev/full", "w") as full:
        r = subprocess.run([aero_launch, "k8s", "job", "--image", IMAGE, "--", "true"],
                           stdout=full, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 74
    assert b"cannot write the YAML document" in r.stderr


def test_image_by_tag_warns_and_by_digest_does_not(launch):
    r = launch("k8s", "job", "--image", "127.0.0.1:5000/team/exp:v1", "--", "true")
    assert r.returncode == 0
    assert b"is a tag" in r.stderr and b"by digest" in r.stderr
    c = yaml.safe_load(r.stdout)["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "127.0.0.1:5000/team/exp:v1"
    r = launch("k8s", "job", "--image", IMAGE, "--", "true")
    assert r.returncode == 0 and r.stderr == b""


def test_the_image_push_recorded_is_used_by_digest(launch):
    r = launch("k8s", "job", "--", "true")
    assert r.returncode == 2 and b"aero-launch push" in r.stderr
    launch.runs.mkdir(parents=True)
    # The record `aero-launch push` writes (tests/e2e/test_push.py makes a real one).
    (launch.runs / ".last-push.json").write_text(json.dumps(
        {"image": "127.0.0.1:5000/team/exp@" + DIGEST, "repository": "127.0.0.1:5000/team/exp",
         "tag": "v1", "digest": DIGEST}))
    image = lambda r: yaml.safe_load(r.stdout)["spec"]["template"]["spec"]["containers"][0]["image"]
    r = launch("k8s", "job", "--", "true")
    assert r.returncode == 0 and image(r) == IMAGE
    # The same repository and tag: its pushed digest, with no warning.
    r = launch("k8s", "job", "--image", "127.0.0.1:5000/team/exp:v1", "--", "true")
    assert r.returncode == 0 and image(r) == IMAGE and b"is a tag" not in r.stderr
    # Another tag: taken as it is, with the warning.
    r = launch("k8s", "job", "--image", "127.0.0.1:5000/team/exp:v2", "--", "true")
    assert image(r) == "127.0.0.1:5000/team/exp:v2" and b"is a tag" in r.stderr
    (launch.runs / ".last-push.json").write_text("{}")
    r = launch("k8s", "job", "--", "true")
    assert r.returncode == 2 and b"is not a record of 'aero-launch push'" in r.stderr


def kubelet_env(container, run_root):
    """The environment the kubelet gives the container: plain values as written,
    the downward API's fields filled in, secrets from the Secret, the run
    directory's volume mounted (here: a directory of the test's own)."""
    facts = {"metadata.name": "lr-sweep-1-x7k2p", "metadata.namespace": "ml",
             "metadata.uid": "5c9e6a8e-1b1e-4a63-9d55-6f1f9c2d7a10", "spec.nodeName": "gpu-node-3",
             "status.podIP": "10.1.2.3", "spec.serviceAccountName": "default"}
    env = {"PATH": os.environ["PATH"], "KUBERNETES_SERVICE_HOST": "10.96.0.1",
           "HOSTNAME": "lr-sweep-1-x7k2p"}
    for e in container["env"]:
        if "value" in e:
            env[e["name"]] = e["value"].replace(RUNS_MOUNT, str(run_root))
        elif "fieldRef" in e["valueFrom"]:
            env[e["name"]] = facts[e["valueFrom"]["fieldRef"]["fieldPath"]]
        else:
            env[e["name"]] = "from-secret-" + e["valueFrom"]["secretKeyRef"]["key"]
    return env


def test_aero_init_needs_nothing_but_the_manifests_environment(launch, aero_init, tmp_path):
    """Start the real aero-init as the kubelet would: the manifest's command, args
    and env, nothing else. It records the run with the pod's facts and the seed,
    and passes the exit status through."""
    script = "import os, sys; print(os.environ['AERO_SEED']); sys.exit(7)"
    doc = yaml.safe_load(job_text(launch, *FULL[:FULL.index("--")], "--", sys.executable,
                                  "-c", script))
    c = doc["spec"]["template"]["spec"]["containers"][0]
    assert c["command"][0] == "/usr/bin/aero-init"
    env = kubelet_env(c, tmp_path / "volume")
    # No W&B here: the tracker is unreachable (a closed port) and aero-init
    # waits only a second for it at the end; the run is unaffected.
    env.update(WANDB_BASE_URL="http://127.0.0.1:9", AERO_TRACKER_TIMEOUT="1s")
    r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", aero_init,
                        *c["command"][1:], *c["args"]], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 7, r.stderr
    assert r.stdout == "1234\n"
    manifest = json.load(open(tmp_path / "volume" / "Run_42.a" / "manifest.json"))
    assert manifest["k8s"] == {"in_kubernetes": True, "pod_name": "lr-sweep-1-x7k2p",
                               "namespace": "ml",
                               "pod_uid": "5c9e6a8e-1b1e-4a63-9d55-6f1f9c2d7a10",
                               "node_name": "gpu-node-3", "pod_ip": "10.1.2.3",
                               "service_account": "default"}
    assert manifest["seed"]["base"] == "1234" and manifest["seed"]["source"] == "AERO_SEED"
    assert manifest["env"]["AERO_IMAGE"] == IMAGE
    assert manifest["run"]["id"] == "Run_42.a"
    assert "aero-init sync" in r.stderr  # what the tracker missed waits for a sync
    # Secrets arrive, and are recorded only redacted.
    assert manifest["env"].get("WANDB_API_KEY", {"redacted": True})["redacted"] is True


def test_aero_init_takes_the_grace_period_from_the_manifest(launch, aero_init, tmp_path):
    """SIGTERM to aero-init (what the kubelet sends) gives the experiment's
    workers AERO_GRACE_PERIOD, not aero-init's default."""
    doc = yaml.safe_load(job_text(launch, "--image", IMAGE, "--grace", "300ms", "--run-id", "g",
                                  "--", "sh", "-c", "trap '' TERM; sleep 30 & wait"))
    c = doc["spec"]["template"]["spec"]["containers"][0]
    env = kubelet_env(c, tmp_path / "volume")
    proc = subprocess.Popen([aero_init, *c["command"][1:], *c["args"]], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "volume" / "g" / "manifest.json").exists():
            assert time.monotonic() < deadline, "aero-init did not start the run"
            time.sleep(0.05)
        time.sleep(0.3)
        began = time.monotonic()
        proc.terminate()
        proc.wait(timeout=20)
        assert time.monotonic() - began < 5  # 300ms then SIGKILL, not the 10s default
        assert proc.returncode == 128 + 9
    finally:
        proc.kill()
        proc.wait()


def test_store_and_service_account(launch, checker, tmp_path):
    """--store and --service-account, as `pipeline argo` takes them (k8s_opts.c)."""
    text = job_text(launch, "--image", IMAGE, "--store", "s3://team-store/ml",
                    "--service-account", "runner", "--run-id", "s", "--", "true")
    pod = yaml.safe_load(text)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "runner"
    assert env_of(pod["containers"][0])["AERO_STORE"] == {"name": "AERO_STORE",
                                                          "value": "s3://team-store/ml"}
    assert checker(text, tmp_path).returncode == 0
    r = launch("k8s", "job", "--image", IMAGE, "--store", "/data", "--", "true")
    assert r.returncode == 2 and b"is not a store URL" in r.stderr
