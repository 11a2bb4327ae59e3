"""aero-init store on file:// and s3:// stores: the same cases on both, the
S3 ones against a real moto_server, with the aws CLI as an independent client
that reads what aero-init wrote and writes what aero-init reads. Cases that
check signatures switch moto's signature checking on (the `signed` fixture)."""
import hashlib
import json
import os
import re
import subprocess
import time
import urllib.parse

import pytest

from helpers.motoserver import FaultProxy, MotoServer, base_env, free_port, missing_programs

BUCKET = "aero-test"
KIB = 1024
MIB = 1024 * KIB
# moto's smallest part, lowered so that multipart cases stay small and fast.
PART_MIN = 256 * KIB
# Sizes: empty, one byte, a few MiB, and one that goes up in parts (below).
SIZES = [0, 1, 3 * MIB + 123, 11 * MIB + 5]
MULTIPART_SIZE = SIZES[-1]
# Settings that make SIZES[-1] a multipart upload and a parallel download.
SMALL_PARTS = {"AERO_S3_MULTIPART_THRESHOLD": str(MIB), "AERO_S3_PART_SIZE": str(PART_MIN),
               "AERO_S3_CONCURRENCY": "4"}
SPECIAL_KEYS = ["with space", "plus+sign", "eq=ual", "per%25cent%", "tilde~x",
                "ütf-8/ключ/日本", "a b+c=d%e~ü/&amp;<x>'\"", "semi;colon,comma!$(*)@#^[]{}|`"]


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    missing = missing_programs()
    if missing:
        pytest.skip("%s not installed (moto_server and the aws CLI come with the machine "
                    "image's Python)" % " and ".join(missing))
    server = MotoServer(str(tmp_path_factory.mktemp("moto")), part_min_size=PART_MIN)
    try:
        server.wait_ready()
        server.set_up_iam()
        server.aws("s3", "mb", "s3://" + BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture
def signed(moto):
    """moto checks every request's signature and key while the test runs."""
    moto.reset_auth("0")
    yield moto
    moto.reset_auth("inf")


@pytest.fixture
def s3_signed(signed, aero_init, tmp_path, request):
    """A store at the root of a bucket of its own, with signatures checked.
    At the root, because moto 5.2 checks a signature over a query value with
    a percent escape (prefix=dir%2F) against a doubly escaped one and refuses
    it, whoever signs (the aws CLI too)."""
    bucket = "sig-" + re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:50].strip("-")
    signed.aws("s3", "mb", "s3://" + bucket)
    return Store(aero_init, "s3", "s3://" + bucket, s3_env(signed, tmp_path), signed)


class Store:
    """A store under test: its URL and the environment aero-init runs with."""

    def __init__(self, aero_init, kind, url, env, moto=None, prefix=""):
        self.aero_init, self.kind, self.url, self.env = aero_init, kind, url, env
        self.moto, self.prefix = moto, prefix

    def run(self, *args, env=None, url=None, **kw):
        full_env = dict(self.env)
        full_env.update(env or {})
        cmd = [self.aero_init, "store", args[0], url or self.url, *args[1:]]
        return subprocess.run(cmd, env=full_env, capture_output=True, timeout=300,
                              stdin=subprocess.DEVNULL, **kw)

    def ok(self, *args, **kw):
        res = self.run(*args, **kw)
        assert res.returncode == 0, res.stderr.decode(errors="replace")
        return res

    def s3_key(self, key):
        return self.prefix + key


def s3_env(moto, home, **extra):
    env = base_env(home)
    env.update({"AWS_ENDPOINT_URL": moto.endpoint, "AWS_ACCESS_KEY_ID": moto.key_id,
                "AWS_SECRET_ACCESS_KEY": moto.secret, "AWS_REGION": "us-east-1"})
    env.update(extra)
    return env


def s3_store(aero_init, moto, tmp_path, request):
    # One prefix per test keeps the tests apart in the one bucket.
    prefix = "t%d-%s/" % (os.getpid(), re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name))
    return Store(aero_init, "s3", "s3://%s/%s" % (BUCKET, prefix.rstrip("/")),
                 s3_env(moto, tmp_path), moto, prefix)


def file_store(aero_init, tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    return Store(aero_init, "file", "file://" + str(root), base_env(tmp_path))


@pytest.fixture(params=["file", "s3"])
def store(request, aero_init, tmp_path):
    if request.param == "file":
        return file_store(aero_init, tmp_path)
    return s3_store(aero_init, request.getfixturevalue("moto"), tmp_path, request)


@pytest.fixture
def s3(request, aero_init, moto, tmp_path):
    return s3_store(aero_init, moto, tmp_path, request)


def data_file(path, size, seed=0):
    """size bytes that differ from one offset (and seed) to the next."""
    block = hashlib.sha256(b"%d" % seed).digest() * (64 * KIB // 32)
    with open(path, "wb") as f:
        left, n = size, 0
        while left > 0:
            chunk = hashlib.sha256(block[:64] + b"%d" % n).digest() + block
            f.write(chunk[:left])
            left -= min(left, len(chunk))
            n += 1
    return path


def read(path):
    with open(path, "rb") as f:
        return f.read()


def uploads_left(moto, prefix):
    out = moto.aws("s3api", "list-multipart-uploads", "--bucket", BUCKET, "--prefix", prefix)
    return json.loads(out).get("Uploads", []) if out.strip() else []


def moved_bytes(stderr):
    m = re.search(rb": (\d+) bytes in ", stderr)
    assert m, stderr
    return int(m.group(1))


# --- round trips ---------------------------------------------------------------

@pytest.mark.parametrize("size", SIZES, ids=["empty", "1B", "3MiB", "multipart"])
def test_round_trip(store, tmp_path, size):
    src = data_file(tmp_path / "src", size, seed=size)
    env = SMALL_PARTS if size == MULTIPART_SIZE else None
    res = store.ok("put", "obj/data", str(src), "-v", env=env)
    assert moved_bytes(res.stderr) == size  # progress: every byte once
    head = json.loads(store.ok("head", "obj/data").stdout)
    assert head["size"] == size and head["etag"]
    res = store.ok("get", "obj/data", str(tmp_path / "out"), "-v", env=env)
    assert moved_bytes(res.stderr) == size
    assert read(tmp_path / "out") == read(src)
    assert store.ok("cat", "obj/data", env=env).stdout == read(src)
    assert store.ok("ls").stdout.decode() == "%d obj/data\n" % size


@pytest.mark.parametrize("size", SIZES, ids=["empty", "1B", "3MiB", "multipart"])
def test_s3_interop_with_aws_cli(s3, tmp_path, size):
    """The aws CLI reads what aero-init wrote, and aero-init what it wrote."""
    src = data_file(tmp_path / "src", size, seed=size + 1)
    s3.ok("put", "ours", str(src), env=SMALL_PARTS)
    s3.moto.aws("s3", "cp", "s3://%s/%s" % (BUCKET, s3.s3_key("ours")), str(tmp_path / "a"))
    assert read(tmp_path / "a") == read(src)
    s3.moto.aws("s3", "cp", str(src), "s3://%s/%s" % (BUCKET, s3.s3_key("theirs")))
    s3.ok("get", "theirs", str(tmp_path / "b"), env=SMALL_PARTS)
    assert read(tmp_path / "b") == read(src)
    head = json.loads(s3.ok("head", "theirs").stdout)
    assert head["size"] == size


def test_get_truncates_a_longer_file(store, tmp_path):
    store.ok("put", "k", str(data_file(tmp_path / "src", 1000)))
    (tmp_path / "out").write_bytes(b"x" * 5000)
    store.ok("get", "k", str(tmp_path / "out"))
    assert read(tmp_path / "out") == read(tmp_path / "src")


# --- keys --------------------------------------------------------------------------

@pytest.mark.parametrize("key", SPECIAL_KEYS)
def test_special_keys(store, tmp_path, key):
    src = data_file(tmp_path / "src", 100, seed=len(key))
    store.ok("put", key, str(src))
    assert store.ok("ls").stdout.decode() == "100 %s\n" % key
    store.ok("get", key, str(tmp_path / "out"))
    assert read(tmp_path / "out") == read(src)
    assert json.loads(store.ok("head", key).stdout)["size"] == 100
    if store.kind == "s3":
        # The same name for the aws CLI: each reads what the other wrote.
        moto = store.moto
        moto.aws("s3api", "get-object", "--bucket", BUCKET, "--key", store.s3_key(key),
                 str(tmp_path / "aws-out"))
        assert read(tmp_path / "aws-out") == read(src)
        moto.aws("s3api", "put-object", "--bucket", BUCKET, "--key",
                 store.s3_key(key + ".aws"), "--body", str(src))
        store.ok("get", key + ".aws", str(tmp_path / "out2"))
        assert read(tmp_path / "out2") == read(src)


@pytest.mark.parametrize("key", ["../up", "a/../b", "/abs", "a//b", "dir/", "."])
def test_keys_that_leave_the_store_are_refused(store, tmp_path, key):
    res = store.run("put", key, str(data_file(tmp_path / "src", 10)))
    assert res.returncode == 125, res.stderr
    assert b"not a relative path" in res.stderr


# --- write once --------------------------------------------------------------------

@pytest.mark.parametrize("size", [5, MULTIPART_SIZE], ids=["single", "multipart"])
def test_if_absent_twice(store, tmp_path, size):
    first = data_file(tmp_path / "first", size, seed=1)
    second = data_file(tmp_path / "second", size, seed=2)
    store.ok("put", "once", str(first), "--if-absent", env=SMALL_PARTS)
    res = store.run("put", "once", str(second), "--if-absent", env=SMALL_PARTS)
    assert res.returncode == 3, res.stderr
    assert b"exists" in res.stderr
    store.ok("get", "once", str(tmp_path / "out"))
    assert read(tmp_path / "out") == read(first)


def race(store, tmp_path, key, n):
    """n processes put different bytes under key at once; their exit codes,
    and whose bytes the store kept."""
    srcs = [data_file(tmp_path / ("%s-%d" % (key, i)), 256 * KIB, seed=i) for i in range(n)]
    procs = [subprocess.Popen([store.aero_init, "store", "put", store.url, key, str(s),
                               "--if-absent"], env=store.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for s in srcs]
    codes = [p.wait(timeout=120) for p in procs]
    store.ok("get", key, str(tmp_path / "out"))
    kept = [i for i, s in enumerate(srcs) if read(s) == read(tmp_path / "out")]
    return codes, kept


def test_concurrent_if_absent_puts_one_wins(store, tmp_path):
    # moto 5.2 checks If-None-Match and stores the object in two steps, so now
    # and then (about 1 round in 20, with curl as the client too) two racers
    # both win there; S3 and file:// make it one step. Against moto, one round
    # of three with a single winner passes; without If-None-Match every racer
    # would win every round.
    rounds = 1 if store.kind == "file" else 3
    for r in range(rounds):
        codes, kept = race(store, tmp_path, "race%d" % r, 8)
        assert set(codes) <= {0, 3} and codes.count(0) >= 1, codes
        assert len(kept) == 1 and codes[kept[0]] == 0, (codes, kept)
        if codes.count(0) == 1:
            return
    pytest.fail("two or more racers won every round: %s" % codes)


def test_s3_multipart_loses_a_race_at_completion(s3, tmp_path):
    """Another writer puts the key while our parts go up: CompleteMultipartUpload's
    If-None-Match refuses ours (exit 3), the other's object stays, our parts go."""
    moto = s3.moto
    src = data_file(tmp_path / "src", 16 * MIB, seed=7)
    env = dict(s3.env, AERO_S3_MULTIPART_THRESHOLD=str(MIB), AERO_S3_PART_SIZE=str(PART_MIN),
               AERO_S3_CONCURRENCY="1")
    ours = subprocess.Popen([s3.aero_init, "store", "put", s3.url, "contested", str(src),
                             "--if-absent"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    key = s3.s3_key("contested")
    query = "/%s?uploads&prefix=%s" % (BUCKET, urllib.parse.quote(key, safe=""))
    deadline = time.monotonic() + 30
    while b"<UploadId>" not in moto.raw("GET", query)[1]:
        assert ours.poll() is None and time.monotonic() < deadline, "no upload began"
        time.sleep(0.005)
    status, _ = moto.raw("PUT", "/%s/%s" % (BUCKET, urllib.parse.quote(key)), b"theirs")
    assert status == 200
    assert ours.wait(timeout=120) == 3, ours.stderr.read()
    ours.stderr.close()
    s3.ok("get", "contested", str(tmp_path / "out"))
    assert read(tmp_path / "out") == b"theirs"
    assert uploads_left(moto, s3.prefix) == []


# --- resumed downloads -------------------------------------------------------------

@pytest.mark.parametrize("size", [3 * MIB + 123, MULTIPART_SIZE], ids=["single", "parallel"])
def test_resume_with_offset_and_if_match(store, tmp_path, size):
    src = data_file(tmp_path / "src", size, seed=3)
    store.ok("put", "big", str(src), env=SMALL_PARTS)
    etag = json.loads(store.ok("head", "big").stdout)["etag"]
    half = size // 2 + 17
    (tmp_path / "out").write_bytes(read(src)[:half])
    res = store.ok("get", "big", str(tmp_path / "out"), "--offset", str(half), "--if-match",
                   etag, "-v", env=SMALL_PARTS)
    assert moved_bytes(res.stderr) == size - half
    assert read(tmp_path / "out") == read(src)
    # Resuming at the very end fetches nothing and succeeds.
    store.ok("get", "big", str(tmp_path / "out"), "--offset", str(size), "--if-match", etag)
    assert read(tmp_path / "out") == read(src)


def test_stale_etag_is_changed(store, tmp_path):
    store.ok("put", "v", str(data_file(tmp_path / "a", 1000, seed=1)))
    etag = json.loads(store.ok("head", "v").stdout)["etag"]
    store.ok("rm", "v")
    store.ok("put", "v", str(data_file(tmp_path / "b", 1000, seed=2)))
    (tmp_path / "out").write_bytes(read(tmp_path / "a")[:10])
    res = store.run("get", "v", str(tmp_path / "out"), "--offset", "10", "--if-match", etag)
    assert res.returncode == 5, res.stderr
    assert b"changed" in res.stderr


# --- listings ----------------------------------------------------------------------

def test_ls_pages_and_prefixes(store, tmp_path):
    src = data_file(tmp_path / "src", 3)
    # "a-x" < "a/..." < "a0" in byte order.
    keys = ["a/%02d" % i for i in range(20)] + ["ab", "b/1", "a-x", "a0"]
    for k in keys:
        store.ok("put", k, str(src))
    env = {"AERO_S3_MAX_KEYS": "7"}  # several pages for s3://
    out = store.ok("ls", env=env).stdout.decode().splitlines()
    assert out == ["3 " + k for k in sorted(keys)]
    out = store.ok("ls", "a/", env=env).stdout.decode().splitlines()
    assert out == ["3 a/%02d" % i for i in range(20)]
    out = store.ok("ls", "a", env=env).stdout.decode().splitlines()
    assert out == ["3 " + k for k in sorted(k for k in keys if k.startswith("a"))]
    assert store.ok("ls", "zzz", env=env).stdout == b""


def test_ls_more_than_1000_keys(store, tmp_path):
    n = 1003
    keys = ["k/%05d" % i for i in range(n)]
    if store.kind == "file":
        for k in keys:
            (tmp_path / "store" / "k").mkdir(exist_ok=True)
            (tmp_path / "store" / k).write_bytes(b"x")
    else:  # unsigned PUTs straight to moto: a thousand aero-init runs take longer
        for k in keys:
            status, _ = store.moto.raw("PUT", "/%s/%s" % (BUCKET, store.s3_key(k)), b"x")
            assert status == 200
    out = store.ok("ls").stdout.decode().splitlines()
    assert out == ["1 " + k for k in keys]


def test_has(store, tmp_path):
    """has prints the keys the store has, in the order asked, and fails (1)
    when one is missing, whatever the page size; keys beside the asked ones
    ("a-x", "a0", another prefix) and repeats change nothing."""
    src = data_file(tmp_path / "src", 3)
    there = ["a/%02d" % i for i in range(0, 20, 2)] + ["a-x", "a0", "b/1", SPECIAL_KEYS[5]]
    for k in there:
        store.ok("put", k, str(src))
    asked = ["a/%02d" % i for i in range(20)] + ["a0", "a/01", "b/1", "b/2", "c",
                                                  SPECIAL_KEYS[5], "ütf-8/ключ/日"]
    missing = len([k for k in asked if k not in there])
    for max_keys in ("1", "3", "1000"):
        res = store.run("has", *asked, env={"AERO_S3_MAX_KEYS": max_keys})
        assert res.returncode == 1, res.stderr
        assert res.stdout.decode().splitlines() == [k for k in asked if k in there]
        assert b"%d of the %d keys are not in " % (missing, len(asked)) in res.stderr
    assert store.ok("has", "b/1", "a/04", "a/04").stdout == b"b/1\na/04\na/04\n"
    res = store.run("has", "nope")
    assert res.returncode == 1 and res.stdout == b"" and b"nope is not in" in res.stderr
    assert store.run("has", "a/../x").returncode == 125


def moto_requests(moto, since=0):
    """The requests moto logged from line since on: [(method, target)]."""
    time.sleep(0.2)  # moto logs an answer once it is sent
    with open(moto.log_path, "rb") as f:
        lines = f.read().decode(errors="replace").splitlines()[since:]
    return [tuple(m.groups()) for m in
            (re.search(r'"([A-Z]+) (\S+) HTTP', line) for line in lines) if m]


def moto_log_lines(moto):
    with open(moto.log_path, "rb") as f:
        return len(f.read().splitlines())


def test_s3_has_lists_instead_of_asking_each_key(s3, tmp_path):
    """has asks S3 with listing pages that start just below the first key not
    yet known, so that it skips the stretches of the store between the keys
    asked, and heads the rest once pages stop paying: never more requests
    than keys."""
    def requests(*keys, max_keys):
        since = moto_log_lines(s3.moto)
        res = s3.run("has", *keys, env={"AERO_S3_MAX_KEYS": str(max_keys)})
        assert res.returncode in (0, 1), res.stderr
        got = moto_requests(s3.moto, since)
        lists = [t for m, t in got if m == "GET" and "list-type=2" in t]
        heads = [t for m, t in got if m == "HEAD"]
        assert len(lists) + len(heads) == len(got), got
        return res.stdout.decode().splitlines(), len(lists), len(heads)

    assert requests("k/000", "k/001", max_keys=1000) == ([], 1, 0)  # an empty store
    stored = ["k/%03d" % i for i in range(0, 400)]
    for k in stored:  # unsigned PUTs straight to moto: faster than 400 aero-init runs
        status, _ = s3.moto.raw("PUT", "/%s/%s" % (BUCKET, s3.s3_key(k)), b"x")
        assert status == 200
    # Everything, and keys between and after: pages of 100 tell about all.
    asked = stored + ["k/%03dx" % i for i in range(0, 400, 40)] + ["k/999", "l"]
    found, lists, heads = requests(*asked, max_keys=100)
    assert found == stored and (lists, heads) == (4, 0)
    # Two stretches far apart: the second page starts at the second one.
    asked = stored[:50] + stored[300:350]
    assert requests(*asked, max_keys=50) == (asked, 2, 0)
    # A key every 40: a page tells about one, so heads ask about the rest.
    asked = stored[::40] + ["k/%03dx" % i for i in range(0, 400, 40)]
    found, lists, heads = requests(*asked, max_keys=10)
    assert found == stored[::40] and lists == 1 and lists + heads <= len(asked)


# --- errors ------------------------------------------------------------------------

def test_missing_key(store, tmp_path):
    for args in (["head", "nope"], ["cat", "nope"], ["rm", "nope"],
                 ["get", "nope", str(tmp_path / "out")]):
        res = store.run(*args)
        assert res.returncode == 1, (args, res.stderr)
    assert not (tmp_path / "out").exists()  # a failed get leaves no empty file


def test_rm(store, tmp_path):
    store.ok("put", "gone", str(data_file(tmp_path / "src", 10)))
    store.ok("rm", "gone")
    assert store.run("head", "gone").returncode == 1
    assert store.ok("ls").stdout == b""


def test_s3_no_bucket(s3, tmp_path):
    """(file:// makes its directory on the first put, so only s3:// has this.)"""
    url = "s3://no-such-bucket-aero"
    for args in (["ls"], ["head", "k"], ["put", "k", str(data_file(tmp_path / "src", 10))],
                 ["get", "k", str(tmp_path / "out")]):
        res = s3.run(*args, url=url)
        assert res.returncode == 6, (args, res.stderr)
        assert b"create it with: aws --endpoint-url %s s3 mb s3://no-such-bucket-aero" % (
            s3.moto.endpoint.encode()) in res.stderr


def test_usage_errors(aero_init, tmp_path):
    env = base_env(tmp_path)
    out = subprocess.run([aero_init, "store", "--help"], capture_output=True, env=env)
    assert out.returncode == 0 and b"aero-init store put URL KEY FILE" in out.stdout
    for args in (["frob", "file:///x"], ["put", "file:///x", "k"], ["ls"],
                 ["head", "file:///x", "k", "--if-absent"], ["put", "ftp://x", "k", "/dev/null"]):
        res = subprocess.run([aero_init, "store", *args], capture_output=True, env=env)
        assert res.returncode == 125, (args, res.stderr)
        assert res.stderr.count(b"\n") == 1, res.stderr  # one line


def test_s3_missing_credentials(s3, tmp_path):
    env = {k: v for k, v in s3.env.items() if not k.startswith("AWS_ACCESS_KEY_ID")}
    env.pop("AWS_SECRET_ACCESS_KEY")
    res = subprocess.run([s3.aero_init, "store", "ls", s3.url], env=env, capture_output=True)
    assert res.returncode == 4, res.stderr
    assert b"AWS_ACCESS_KEY_ID" in res.stderr and b"~/.aws/credentials" in res.stderr
    # Half of a key pair is named too.
    res = s3.run("ls", env={"AWS_SECRET_ACCESS_KEY": ""})
    assert res.returncode == 4 and b"AWS_SECRET_ACCESS_KEY is not" in res.stderr


def test_s3_credentials_file(s3_signed, tmp_path):
    s3 = s3_signed
    signed = s3.moto
    env = {k: v for k, v in s3.env.items()
           if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    creds = tmp_path / "credentials"
    creds.write_text("[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n"
                     "# the one in use\n[work]\naws_access_key_id = %s\n"
                     "aws_secret_access_key=%s\n" % (signed.key_id, signed.secret))
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_PROFILE="work")
    src = data_file(tmp_path / "src", 10)
    res = subprocess.run([s3.aero_init, "store", "put", s3.url, "k", str(src)], env=env,
                         capture_output=True)
    assert res.returncode == 0, res.stderr
    env["AWS_PROFILE"] = "nosuch"
    res = subprocess.run([s3.aero_init, "store", "ls", s3.url], env=env, capture_output=True)
    assert res.returncode == 4 and b"no profile [nosuch]" in res.stderr


def test_s3_signed_requests(s3_signed, tmp_path):
    """Every kind of request, with moto checking each signature."""
    s3 = s3_signed
    src = data_file(tmp_path / "src", MULTIPART_SIZE, seed=9)
    s3.ok("put", "dir/one", str(src), "--if-absent", env=SMALL_PARTS)
    s3.ok("put", "dir/two", str(data_file(tmp_path / "small", 10)))
    assert s3.run("put", "dir/two", str(src), "--if-absent").returncode == 3
    etag = json.loads(s3.ok("head", "dir/one").stdout)["etag"]
    (tmp_path / "out").write_bytes(read(src)[:100])
    s3.ok("get", "dir/one", str(tmp_path / "out"), "--offset", "100", "--if-match", etag,
          env=SMALL_PARTS)
    assert read(tmp_path / "out") == read(src)
    assert s3.ok("ls", env={"AERO_S3_MAX_KEYS": "1"}).stdout.decode().splitlines() == [
        "%d dir/one" % MULTIPART_SIZE, "10 dir/two"]
    s3.ok("rm", "dir/two")
    assert s3.run("head", "dir/two").returncode == 1


def test_s3_wrong_secret(s3_signed, tmp_path):
    s3 = s3_signed
    for args in (["ls"], ["head", "k"], ["put", "k", str(data_file(tmp_path / "src", 10))]):
        res = s3.run(*args, env={"AWS_SECRET_ACCESS_KEY": "wrong"})
        assert res.returncode == 4, (args, res.stderr)
        assert b"SignatureDoesNotMatch" in res.stderr and b"AWS_SECRET_ACCESS_KEY" in res.stderr
        assert b"wrong" not in res.stderr  # no secret is ever shown


def test_s3_unknown_key_id(s3_signed):
    s3 = s3_signed
    res = s3.run("ls", env={"AWS_ACCESS_KEY_ID": "AKIANOSUCHKEY0000000"})
    assert res.returncode == 4 and b"InvalidAccessKeyId" in res.stderr, res.stderr
    assert b"AWS_ACCESS_KEY_ID" in res.stderr


def test_s3_session_token(s3_signed, tmp_path):
    """Temporary credentials: the token goes with every request (moto checks it)."""
    s3 = s3_signed
    signed = s3.moto
    key_id, secret, token = signed.session
    env = {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_SESSION_TOKEN": token}
    src = data_file(tmp_path / "src", MULTIPART_SIZE, seed=4)
    s3.ok("put", "tok", str(src), env=dict(env, **SMALL_PARTS))
    s3.ok("get", "tok", str(tmp_path / "out"), env=dict(env, **SMALL_PARTS))
    assert read(tmp_path / "out") == read(src)
    res = s3.run("ls", env=dict(env, AWS_SESSION_TOKEN="not-the-token"))
    assert res.returncode == 4 and b"AWS_SESSION_TOKEN" in res.stderr, res.stderr
    res = s3.run("ls", env={k: v for k, v in env.items() if k != "AWS_SESSION_TOKEN"})
    assert res.returncode == 4, res.stderr  # without it, the key is unknown


def test_s3_endpoint_down(s3):
    endpoint = "http://127.0.0.1:%d" % free_port()
    start = time.monotonic()
    res = s3.run("ls", env={"AWS_ENDPOINT_URL": endpoint})
    assert res.returncode == 125, res.stderr
    assert endpoint.encode() in res.stderr and b"AWS_ENDPOINT_URL" in res.stderr
    assert time.monotonic() - start < 10  # a few quick retries, no long hang


def test_s3_endpoint_url_s3_wins(s3, tmp_path):
    s3.ok("put", "k", str(data_file(tmp_path / "src", 10)),
          env={"AWS_ENDPOINT_URL": "http://127.0.0.1:%d" % free_port(),
               "AWS_ENDPOINT_URL_S3": s3.moto.endpoint})


def test_s3_failed_multipart_is_aborted(s3, tmp_path):
    """Parts smaller than the server takes: the upload fails at completion
    (EntityTooSmall) and is aborted, leaving no parts behind."""
    src = data_file(tmp_path / "src", 2 * MIB, seed=5)
    res = s3.run("put", "small-parts", str(src),
                 env={"AERO_S3_MULTIPART_THRESHOLD": str(MIB), "AERO_S3_PART_SIZE": "65536"})
    assert res.returncode == 125 and b"EntityTooSmall" in res.stderr, res.stderr
    assert uploads_left(s3.moto, s3.prefix) == []
    assert s3.run("head", "small-parts").returncode == 1


def test_s3_bad_settings(s3, tmp_path):
    for name, value in (("AERO_S3_PART_SIZE", "0"), ("AERO_S3_CONCURRENCY", "many"),
                        ("AWS_REGION", "us east"), ("AWS_ENDPOINT_URL", "ftp://x")):
        res = s3.run("ls", env={name: value})
        assert res.returncode == 125 and name.encode() in res.stderr, (name, res.stderr)


@pytest.fixture(scope="module")
def tls_moto(tmp_path_factory, moto):
    """A second moto_server, over HTTPS with a self-signed certificate."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                           "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True)
    if made.returncode != 0:
        pytest.skip("openssl cannot make a test certificate: %s" % made.stderr)
    server = MotoServer(str(d), extra_args=("-c", cert, "-k", key), scheme="https")
    try:
        import ssl
        server.wait_ready(context=ssl.create_default_context(cafile=cert))
        server.cert = cert
        yield server
    finally:
        server.stop()


def test_s3_tls_is_verified(tls_moto, aero_init, tmp_path):
    env = s3_env(tls_moto, tmp_path, AWS_ACCESS_KEY_ID="testing",
                 AWS_SECRET_ACCESS_KEY="testing")
    env.pop("SSL_CERT_FILE", None)
    res = subprocess.run([aero_init, "store", "ls", "s3://" + BUCKET], env=env,
                         capture_output=True)
    assert res.returncode == 125 and b"SSL_CERT_FILE" in res.stderr, res.stderr
    env["SSL_CERT_FILE"] = tls_moto.cert
    res = subprocess.run([aero_init, "store", "ls", "s3://" + BUCKET], env=env,
                         capture_output=True)
    assert res.returncode == 6, res.stderr  # TLS passed; the bucket is not on this server


@pytest.fixture
def proxy(moto):
    p = FaultProxy(moto.port)
    yield p
    p.stop()


def test_s3_transient_failures_are_retried(s3, proxy, tmp_path):
    """Every request's first try fails (a 503, a dropped connection, or half a
    body): puts, parts, listings, parallel and single-stream gets (which go on
    from the byte they reached) all succeed."""
    env = dict(SMALL_PARTS, AWS_ENDPOINT_URL=proxy.endpoint)
    big = data_file(tmp_path / "big", MULTIPART_SIZE, seed=11)
    small = data_file(tmp_path / "small", 3 * MIB, seed=12)
    s3.ok("put", "big", str(big), "--if-absent", env=env)
    s3.ok("put", "small", str(small), env=env)
    assert json.loads(s3.ok("head", "small", env=env).stdout)["size"] == 3 * MIB
    assert s3.ok("ls", env=dict(env, AERO_S3_MAX_KEYS="1")).stdout.decode().splitlines() == [
        "%d big" % MULTIPART_SIZE, "%d small" % (3 * MIB)]
    s3.ok("get", "big", str(tmp_path / "out-big"), env=env)
    assert read(tmp_path / "out-big") == read(big)
    res = s3.ok("get", "small", str(tmp_path / "out-small"), "-v",
                env=dict(env, AERO_S3_CONCURRENCY="1"))
    assert read(tmp_path / "out-small") == read(small)
    assert moved_bytes(res.stderr) == 3 * MIB  # the resumed half is not counted twice
    s3.ok("rm", "small", env=env)
    assert all(proxy.faults.values()), proxy.faults


def test_s3_lasting_failures_give_up(s3, moto, tmp_path):
    proxy = FaultProxy(moto.port, always=True)
    try:
        start = time.monotonic()
        res = s3.run("put", "k", str(data_file(tmp_path / "src", 2 * MIB)),
                     env=dict(SMALL_PARTS, AWS_ENDPOINT_URL=proxy.endpoint))
        assert res.returncode == 125 and b"503 SlowDown" in res.stderr, res.stderr
        assert proxy.faults["503"] == 4  # AERO_S3_TRIES, then no more
        assert time.monotonic() - start < 10
    finally:
        proxy.stop()
