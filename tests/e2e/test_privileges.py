"""Least privilege and hermetic runs (doc/security.md): the experiment runs as
--user with its groups from the image's files, keeps only the capabilities of
--caps, runs with no_new_privs, and with --hermetic cannot open a network
socket by any path, while the channel (a unix socket) and aero-init's own
tracker traffic still work. aero-init keeps only the capabilities it needs.
Every test runs aero-init as root (the CI does) and skips otherwise."""
import http.server
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading

import pytest

from conftest import clean_env
from doubles.fixtures import mlflow_double  # noqa: F401

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="switching users and capabilities needs root")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT_PATH = os.path.join(ROOT, "image", "python")

PASSWD = """root:x:0:0:root:/root:/bin/bash
aerotest:x:4711:4711:Aero Test:/home/aerotest:/bin/sh
other:x:4720:4720::/home/other:/bin/sh
"""
GROUP = """root:x:0:
aerotest:x:4711:
aerodata:x:4712:other,aerotest
aerovideo:x:4713:aerotest
othergroup:x:4714:other
"""

CAP_NET_BIND_SERVICE = 1 << 10
CAP_KILL, CAP_SETGID, CAP_SETUID = 1 << 5, 1 << 6, 1 << 7

# Ways to ask for a network socket, each a mode of the probe below.
PROBE = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A 32-bit system call from this 64-bit process: the i386 ABI, as a 32-bit
 * program would make it. */
static long int80(long nr, long a, long b, long c)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

static long result(long rc) { return rc < 0 ? -errno : rc; }

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "";
	long r = -EINVAL;
	if (strcmp(how, "native") == 0)
		r = result(syscall(SYS_socket, AF_INET, SOCK_STREAM, 0));
	else if (strcmp(how, "unix") == 0)
		r = result(syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0));
	else if (strcmp(how, "socketpair") == 0) {
		int sv[2];
		r = result(syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv));
	} else if (strcmp(how, "i386-socket") == 0)
		r = int80(359, AF_INET, SOCK_STREAM, 0);
	else if (strcmp(how, "i386-socketcall") == 0) {
		unsigned *args = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		args[0] = AF_INET, args[1] = SOCK_STREAM, args[2] = 0;
		r = int80(102, 1 /* SYS_SOCKET */, (long)args, 0);
	} else if (strcmp(how, "i386-socketcall-connect") == 0) {
		/* connect(-1, ...): EBADF unless the multiplexer is refused whole */
		unsigned *args = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		args[0] = (unsigned)-1, args[1] = 0, args[2] = 0;
		r = int80(102, 3 /* SYS_CONNECT */, (long)args, 0);
	} else if (strcmp(how, "x32") == 0)
		r = result(syscall(0x40000000 | SYS_socket, AF_INET, SOCK_STREAM, 0));
	else if (strcmp(how, "io_uring") == 0) {
		char params[120] = {0};
		r = result(syscall(425 /* io_uring_setup */, 1, params));
	}
	printf("%s %s\n", how, r >= 0 ? "ok" : strerror((int)-r));
	return r >= 0 ? 0 : r == -EPERM ? 1 : 2;
}
"""


@pytest.fixture(scope="session")
def shared(aero_init):
    """A directory every user may read: aero-init, the socket probe and a
    setuid copy of id(1) for the experiment's user to run."""
    path = tempfile.mkdtemp(prefix="aero-priv-", dir="/var/tmp")
    os.chmod(path, 0o755)
    shutil.copy(aero_init, os.path.join(path, "aero-init"))
    setuid_id = os.path.join(path, "setuid-id")
    shutil.copy(shutil.which("id"), setuid_id)
    os.chmod(setuid_id, 0o4755)
    cc = shutil.which("cc")
    if cc is not None:
        with open(os.path.join(path, "probe.c"), "w") as f:
            f.write(PROBE)
        subprocess.run([cc, "-O1", "-o", os.path.join(path, "probe"),
                        os.path.join(path, "probe.c")], check=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def userdb(tmp_path):
    passwd, group = tmp_path / "passwd", tmp_path / "group"
    passwd.write_text(PASSWD)
    group.write_text(GROUP)
    return str(passwd), str(group)


def run_init(shared, args, userdb=None, env=None, timeout=60):
    """aero-init (the shared copy) with args; with userdb, in a mount
    namespace of its own where /etc/passwd and /etc/group are the test's."""
    cmd = [os.path.join(shared, "aero-init")] + args
    if userdb is not None:
        cmd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               'mount --bind "$1" /etc/passwd && mount --bind "$2" /etc/group && shift 2 && '
               'exec "$@"', "sh", userdb[0], userdb[1]] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=shared,
                          stdin=subprocess.DEVNULL, env=clean_env(env))


def status_fields(text):
    """The Cap*, NoNewPrivs and Seccomp lines of /proc/PID/status, as a dict."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":\t")
        if sep and key.startswith(("Cap", "NoNewPrivs", "Seccomp")):
            fields[key] = int(value, 16) if key.startswith("Cap") else int(value)
    return fields


def manifest(run_dir):
    with open(os.path.join(run_dir, "manifest.json")) as f:
        return json.load(f)


# ---- --user -------------------------------------------------------------------

@pytest.mark.parametrize("user", ["aerotest", "4711"])
def test_user_by_name_or_number(shared, userdb, tmp_path, user):
    run_dir = tmp_path / "run"
    r = run_init(shared, ["--run-dir", str(run_dir), "--user", user, "--",
                          "sh", "-c", "id; echo HOME=$HOME"], userdb)
    assert r.returncode == 0, r.stderr
    assert ("uid=4711(aerotest) gid=4711(aerotest) "
            "groups=4711(aerotest),4712(aerodata),4713(aerovideo)\n") in r.stdout
    assert "HOME=/home/aerotest\n" in r.stdout
    p = manifest(run_dir)["run"]["privileges"]
    assert (p["uid"], p["gid"], p["groups"]) == (4711, 4711, [4711, 4712, 4713])
    assert p["user"] == "aerotest" and p["home"] == "/home/aerotest"


def test_user_with_a_group(shared, userdb, tmp_path):
    r = run_init(shared, ["--no-record", "--user", "aerotest:aerodata", "--", "id"], userdb)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "uid=4711(aerotest) gid=4712(aerodata) groups=4712(aerodata)\n"
    # Numbers that no file names, as Docker takes them; AERO_USER as well.
    r = run_init(shared, ["--no-record", "--", "sh", "-c", "id -u; id -g; id -G; echo $HOME"],
                 userdb, env={"AERO_USER": "5000:5001", "HOME": "/root"})
    assert r.returncode == 0, r.stderr
    assert r.stdout == "5000\n5001\n5001\n/\n"


def test_user_keeps_a_home_of_its_own(shared, userdb):
    r = run_init(shared, ["--no-record", "--user", "aerotest", "--", "sh", "-c", "echo $HOME"],
                 userdb, env={"HOME": "/srv/work"})
    assert r.returncode == 0, r.stderr
    assert r.stdout == "/srv/work\n"


@pytest.mark.parametrize("spec,file", [("nosuch", "/etc/passwd"),
                                       ("aerotest:nogroup", "/etc/group")])
def test_unknown_user_or_group_starts_nothing(shared, userdb, tmp_path, spec, file):
    run_dir, marker = tmp_path / "run", tmp_path / "started"
    r = run_init(shared, ["--run-dir", str(run_dir), "--user", spec, "--",
                          "touch", str(marker)], userdb)
    assert r.returncode == 125
    name = spec.split(":")[-1]
    assert "--user %s: no %s '%s' in %s" % (
        spec, "user" if file == "/etc/passwd" else "group", name, file) in r.stderr
    assert not marker.exists() and not run_dir.exists()


def test_the_channel_reaches_another_user(shared, userdb, tmp_path):
    """The run directory under pytest's 0700 directory is out of the user's
    reach: the socket moves to a private directory, and is the user's."""
    run_dir = tmp_path / "run"
    script = ('ls -l "$AERO_SOCKET"; {0}/aero-init log loss=1 && '
              '{0}/aero-init log --summary best=1').format(shared)
    r = run_init(shared, ["--run-dir", str(run_dir), "--user", "aerotest", "--",
                          "sh", "-c", script], userdb)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("srw------- 1 aerotest aerotest")
    assert "/tmp/aeromancy-" in r.stdout
    with open(run_dir / "metrics.jsonl") as f:
        assert json.loads(f.readline())["loss"] == 1
    # What the run directory holds is still aero-init's.
    assert os.stat(run_dir / "metrics.jsonl").st_uid == 0


# ---- capabilities and no_new_privs ---------------------------------------------

def test_no_capabilities_by_default(shared, tmp_path):
    run_dir = tmp_path / "run"
    r = run_init(shared, ["--run-dir", str(run_dir), "--", "cat", "/proc/self/status"])
    assert r.returncode == 0, r.stderr
    got = status_fields(r.stdout)
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert got[key] == 0, key
    assert got["NoNewPrivs"] == 1
    p = manifest(run_dir)["run"]["privileges"]
    assert p["capabilities"] == {k: [] for k in ("effective", "permitted", "inheritable",
                                                 "bounding", "ambient")}
    assert p["no_new_privs"] is True and p["seccomp"] == "none" and p["hermetic"] is False
    assert p["uid"] == 0


@pytest.mark.parametrize("user", [None, "aerotest"])
def test_asked_capabilities_survive_exec(shared, userdb, tmp_path, user):
    run_dir = tmp_path / "run"
    who = ["--user", user] if user else []
    r = run_init(shared, ["--run-dir", str(run_dir), *who, "--caps", "cap_net_bind_service",
                          "--", "cat", "/proc/self/status"], userdb)
    assert r.returncode == 0, r.stderr
    got = status_fields(r.stdout)
    for key in ("CapInh", "CapPrm", "CapEff", "CapBnd"):
        assert got[key] == CAP_NET_BIND_SERVICE, key
    assert got["CapAmb"] == (CAP_NET_BIND_SERVICE if user else 0)
    caps = manifest(run_dir)["run"]["privileges"]["capabilities"]
    assert caps["effective"] == caps["bounding"] == ["cap_net_bind_service"]
    assert caps["ambient"] == (["cap_net_bind_service"] if user else [])


def test_a_capability_works_for_another_user(shared, userdb):
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        if int(f.read()) <= 81:
            pytest.skip("any user may bind port 81 here (ip_unprivileged_port_start)")
    bind = ("import socket; s = socket.socket(); s.bind(('127.0.0.1', 81)); "
            "print('bound')")
    r = run_init(shared, ["--no-record", "--user", "aerotest", "--", sys.executable, "-c",
                          bind], userdb)
    assert r.returncode == 1 and "PermissionError" in r.stderr
    r = run_init(shared, ["--no-record", "--user", "aerotest", "--caps", "NET_BIND_SERVICE",
                          "--", sys.executable, "-c", bind], userdb)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "bound\n"


def test_a_setuid_program_gains_nothing(shared, userdb, tmp_path):
    setuid_id = os.path.join(shared, "setuid-id")
    assert os.stat(setuid_id).st_mode & stat.S_ISUID
    run_dir = tmp_path / "run"
    r = run_init(shared, ["--run-dir", str(run_dir), "--user", "aerotest", "--", setuid_id],
                 userdb)
    assert r.returncode == 0, r.stderr
    assert "euid=" not in r.stdout and r.stdout.startswith("uid=4711(aerotest)")
    # Opting out, as recorded: the same program becomes root.
    r = run_init(shared, ["--run-dir", str(run_dir), "--user", "aerotest", "--allow-new-privs",
                          "--", setuid_id], userdb)
    assert r.returncode == 0, r.stderr
    assert "euid=0(root)" in r.stdout
    assert manifest(run_dir)["run"]["privileges"]["no_new_privs"] is False


def test_capabilities_aero_init_lacks_are_refused(shared):
    r = run_init(shared, ["--no-record", "--caps", "cap_fly", "--", "true"])
    assert r.returncode == 125 and "'cap_fly' is not a capability" in r.stderr


def test_aero_init_keeps_only_what_it_needs(shared, userdb, tmp_path):
    """Its processes run as another user: aero-init keeps CAP_KILL, CAP_SETUID
    and CAP_SETGID, on every thread (the tracker courier's too), and nothing
    else; run as itself, it keeps nothing. It is not dumpable either."""
    # aero-init drops them right after the experiment's exec, which this
    # shell may outrun: give it a moment.
    script = "sleep 0.5; for t in /proc/$PPID/task/*; do cat $t/status; echo; done"
    env = {"AERO_TRACKER": "mlflow", "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
           "AERO_TRACKER_TIMEOUT": "0"}
    for user, keep in ((["--user", "aerotest"], CAP_KILL | CAP_SETGID | CAP_SETUID), ([], 0)):
        run_dir = tmp_path / ("run-%d" % keep)
        r = run_init(shared, ["--run-dir", str(run_dir), *user, "--", "sh", "-c", script],
                     userdb, env=env)
        assert r.returncode == 0, r.stderr
        threads = [status_fields(t) for t in r.stdout.split("\n\n") if "CapEff" in t]
        assert len(threads) == 2  # the main thread and the courier's
        for t in threads:
            assert (t["CapEff"], t["CapPrm"], t["CapBnd"], t["CapInh"]) == (keep, keep, keep, 0)
            assert t["Seccomp"] == 0
        names = manifest(run_dir)["run"]["privileges"]["aero_init_capabilities"]
        assert names == (["cap_kill", "cap_setgid", "cap_setuid"] if keep else [])


# ---- --hermetic -----------------------------------------------------------------

@pytest.fixture
def http_server():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/" % server.server_address[1]
    server.shutdown()
    server.server_close()


URLOPEN = """
import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=10).status)
except Exception as e:
    print(repr(e.reason if hasattr(e, "reason") else e))
    sys.exit(3)
"""


def test_hermetic_denies_network_sockets(shared, tmp_path, http_server):
    # Without --hermetic the server is there: the test proves the filter.
    r = run_init(shared, ["--no-record", "--", sys.executable, "-c", URLOPEN, http_server])
    assert (r.returncode, r.stdout) == (0, "200\n"), r.stderr
    run_dir = tmp_path / "run"
    r = run_init(shared, ["--run-dir", str(run_dir), "--hermetic", "--", sys.executable, "-c",
                          URLOPEN, http_server])
    assert r.returncode == 3, r.stderr
    assert r.stdout == "PermissionError(1, 'Operation not permitted')\n"
    assert "hermetic run: the experiment cannot open network sockets" in r.stderr
    p = manifest(run_dir)["run"]["privileges"]
    assert p["hermetic"] is True and p["seccomp"] == "filter" and p["no_new_privs"] is True


def test_hermetic_curl_says_why(shared, http_server):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("no curl: .ci/deps.sh installs it")
    r = run_init(shared, ["--no-record", "--", curl, "-sS", "-o", "/dev/null", http_server])
    assert r.returncode == 0, r.stderr
    r = run_init(shared, ["--no-record", "--hermetic", "--", curl, "-sS", "-o", "/dev/null",
                          http_server])
    assert r.returncode == 7, r.stderr  # CURLE_COULDNT_CONNECT
    assert "Failed to connect to 127.0.0.1" in r.stderr


def test_hermetic_filters_every_descendant(shared, http_server):
    """A forked child, and a program its child execs, are filtered too."""
    code = """
import os, socket, subprocess, sys
pid = os.fork()
if pid == 0:
    try:
        socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        os._exit(0)
    except PermissionError:
        os._exit(1)
_, status = os.waitpid(pid, 0)
print("forked", os.waitstatus_to_exitcode(status))
r = subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2]], capture_output=True, text=True)
print("exec'd", r.returncode, r.stdout.strip())
"""
    r = run_init(shared, ["--no-record", "--hermetic", "--", sys.executable, "-c", code,
                          URLOPEN, http_server])
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("forked 1\n"
                        "exec'd 3 PermissionError(1, 'Operation not permitted')\n")


def probe(shared, how, hermetic):
    path = os.path.join(shared, "probe")
    if not os.path.exists(path):
        pytest.skip("no C compiler for the socket probe")
    return run_init(shared, ["--no-record", *(["--hermetic"] if hermetic else []), "--",
                             path, how])


@pytest.mark.parametrize("how", ["native", "socketpair", "i386-socket", "i386-socketcall",
                                 "i386-socketcall-connect", "io_uring"])
def test_hermetic_closes_every_path(shared, how):
    """The native call, a socketpair, the 32-bit ABI's direct socket call and
    its socketcall multiplexer (int $0x80 from a 64-bit process: what a 32-bit
    program does), whatever it is asked, and io_uring: each works without the
    filter (or fails for another reason) and is EPERM with it."""
    plain = probe(shared, how, False)
    if how in ("socketpair", "i386-socketcall-connect"):
        assert plain.returncode == 2  # no AF_INET pairs; no descriptor -1
    elif plain.returncode != 0:
        pytest.skip("this kernel does not offer %s: %s" % (how, plain.stdout.strip()))
    r = probe(shared, how, True)
    assert (r.returncode, r.stdout) == (1, "%s Operation not permitted\n" % how), r.stderr


def test_hermetic_x32_calls_end_the_process(shared):
    """x32 calls (x86_64's ABI with 32-bit pointers) take the filter's
    bad-architecture action whether or not the kernel offers x32."""
    r = probe(shared, "x32", True)
    assert r.returncode == 128 + 31, r.stdout  # SIGSYS


def test_hermetic_keeps_unix_sockets_and_aero_init(shared, tmp_path):
    """The channel still works, and aero-init itself (which serves artifact
    requests from workers it spawns) is not filtered."""
    run_dir = tmp_path / "run"
    script = ("{0}/aero-init log loss=1 && grep Seccomp: /proc/$PPID/status && "
              "grep Seccomp: /proc/self/status").format(shared)
    r = run_init(shared, ["--run-dir", str(run_dir), "--hermetic", "--", "sh", "-c", script])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Seccomp:\t0\nSeccomp:\t2\n"
    with open(run_dir / "metrics.jsonl") as f:
        assert json.loads(f.readline())["loss"] == 1


def test_hermetic_run_still_reaches_the_tracker(shared, tmp_path, mlflow_double):
    code = """
import aeromancy, socket
for i in range(5):
    aeromancy.log({"loss": 1.0 / (i + 1)})
try:
    socket.create_connection(("127.0.0.1", 1))
except PermissionError:
    aeromancy.summary({"denied": True})
"""
    run_dir = tmp_path / "run"
    env = dict(mlflow_double.env, PYTHONPATH=CLIENT_PATH, AERO_TRACKER="mlflow",
               AERO_TRACKER_INTERVAL="200ms", AERO_HTTP_TIMEOUT="3s",
               AERO_HERMETIC="1", MLFLOW_EXPERIMENT_NAME="hermetic")
    r = run_init(shared, ["--run-dir", str(run_dir), "--", sys.executable, "-c", code],
                 env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    runs = mlflow_double.state()["runs"]
    assert len(runs) == 1
    run = next(iter(runs.values()))
    losses = [m["value"] for m in run["metrics"] if m["key"] == "loss"]
    assert losses == [1.0, 0.5, 1.0 / 3, 0.25, 0.2]
    assert run["status"] == "FINISHED"
    assert json.loads((run_dir / "summary.json").read_text()) == {"denied": True}


def test_hermetic_with_allow_new_privs_needs_no_nnp(shared, tmp_path):
    """Root holds CAP_SYS_ADMIN, so the filter goes in without no_new_privs."""
    run_dir = tmp_path / "run"
    r = run_init(shared, ["--run-dir", str(run_dir), "--hermetic", "--allow-new-privs", "--",
                          "grep", "-E", "^(NoNewPrivs|Seccomp):", "/proc/self/status"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "NoNewPrivs:\t0\nSeccomp:\t2\n"

