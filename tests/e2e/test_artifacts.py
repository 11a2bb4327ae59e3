"""aero-init artifact get/put and aero-launch artifact ls/show/get/put, cache gc:
versions, references, the verified cache, concurrency, hostile stores.

Every test runs against both kinds of store, through the `store_url` fixture:
a file:// store in a temporary directory, and an s3:// store (a prefix of its
own in a bucket of a real moto_server). Tests that reach into the store to
damage it go through `Store`, which does it the way each kind allows."""
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import clean_env
from helpers.motoserver import MotoServer, missing_programs

# The exit statuses of the artifact commands (aero-init(1), aero-launch(1)).
UNKNOWN, BAD_INPUT, DIGEST, DENIED, STORE = 76, 77, 78, 79, 80
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
BUCKET = "aero-artifacts"


class FileStore:
    """Raw access to a file:// store's keys, for planting what a hostile or
    damaged store would hold."""

    kind = "file"

    def __init__(self, root):
        self.root = str(root)
        self.url = "file://" + self.root
        self.env = {}

    def path(self, key):
        return os.path.join(self.root, key)

    def write(self, key, data):
        path = self.path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.exists(path):
            os.chmod(path, 0o644)
        with open(path, "wb") as f:
            f.write(data)

    def read(self, key):
        with open(self.path(key), "rb") as f:
            return f.read()

    def remove(self, key):
        os.remove(self.path(key))

    def keys(self, prefix=""):
        found = []
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                key = os.path.relpath(os.path.join(dirpath, name), self.root)
                if key.startswith(prefix) and not name.startswith(".tmp-"):
                    found.append(key)
        return sorted(found)

    def object_writes(self):
        """What changes when anything is written under objects/: the objects'
        and their directories' mtimes (a temporary file comes and goes in the
        directory even when the store refuses to replace an object)."""
        keys = self.keys("objects/")
        watched = keys + sorted({os.path.dirname(k) for k in keys})
        return {k: os.stat(self.path(k)).st_mtime_ns for k in watched}

    def object_key(self, digest):
        return "objects/sha256/%s/%s" % (digest[:2], digest[2:])

    def requests_logged(self):
        """Where the store's request log stands (see requests)."""
        return 0

    def requests(self, since):
        """The requests sent to the store since requests_logged said since."""
        return []


class S3Store(FileStore):
    """The same, in a prefix of the moto_server's bucket, through the aws CLI."""

    kind = "s3"

    def __init__(self, moto, prefix):
        self.moto, self.prefix = moto, prefix
        self.url = "s3://%s/%s" % (BUCKET, prefix)
        self.env = {"AWS_ENDPOINT_URL": moto.endpoint, "AWS_ACCESS_KEY_ID": moto.key_id,
                    "AWS_SECRET_ACCESS_KEY": moto.secret, "AWS_REGION": "us-east-1",
                    "AWS_EC2_METADATA_DISABLED": "true",
                    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

    def write(self, key, data):
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            self.moto.aws("s3api", "put-object", "--bucket", BUCKET, "--key",
                          self.prefix + "/" + key, "--body", f.name)

    def read(self, key):
        with tempfile.NamedTemporaryFile() as f:
            self.moto.aws("s3api", "get-object", "--bucket", BUCKET, "--key",
                          self.prefix + "/" + key, f.name)
            return f.read()

    def remove(self, key):
        self.moto.aws("s3api", "delete-object", "--bucket", BUCKET, "--key",
                      self.prefix + "/" + key)

    def keys(self, prefix=""):
        out = self.moto.aws("s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix",
                            self.prefix + "/" + prefix)
        contents = json.loads(out).get("Contents", []) if out.strip() else []
        return sorted(c["Key"][len(self.prefix) + 1:] for c in contents)

    def object_writes(self):
        """The object PUTs moto has logged for this store so far."""
        with open(self.moto.log_path, "rb") as f:
            log = f.read().decode(errors="replace")
        return len(re.findall(r'"PUT /%s/%s/objects/' % (BUCKET, re.escape(self.prefix)), log))

    def requests_logged(self):
        with open(self.moto.log_path, "rb") as f:
            return len(f.read().splitlines())

    def requests(self, since):
        """[(method, target)] of the requests moto logged for this store."""
        time.sleep(0.2)  # moto logs an answer once it is sent
        with open(self.moto.log_path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()[since:]
        found = (re.search(r'"([A-Z]+) (\S+) HTTP', line) for line in lines)
        return [m.groups() for m in found if m and self.prefix in m.group(2)]


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    missing = missing_programs()
    if missing:
        pytest.skip("%s not installed" % " and ".join(missing))
    server = MotoServer(str(tmp_path_factory.mktemp("moto")))
    try:
        server.wait_ready()
        server.set_up_iam()
        server.aws("s3", "mb", "s3://" + BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    if request.param == "file":
        (tmp_path / "store").mkdir()
        return FileStore(tmp_path / "store")
    prefix = "t%d-%s" % (os.getpid(), re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name))
    return S3Store(request.getfixturevalue("moto"), prefix)


@pytest.fixture
def store_url(store):
    return store.url


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


@pytest.fixture
def env(store, cache):
    return {"AERO_STORE": store.url, "AERO_CACHE_DIR": str(cache), **store.env}


def run(program, args, env, timeout=120, **kw):
    return subprocess.run([program, *args], env=clean_env(env), capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def put(aero_init, env, name, *paths, check=True, args=()):
    r = run(aero_init, ["artifact", "put", "--json", *args, name, *map(str, paths)], env)
    if check:
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)
    return r


def get(aero_init, env, ref, dest, check=True, args=()):
    r = run(aero_init, ["artifact", "get", "--json", *args, ref, str(dest)], env)
    if check:
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)
    return r


def sent(stderr):
    """(objects, bytes text) from a put's summary line."""
    m = re.search(r"(\d+) objects? sent \(([^)]*)\)", stderr)
    assert m, stderr
    return int(m.group(1)), m.group(2)


def hashed(stderr):
    m = re.search(r"(\d+) files? hashed, (\d+) known from the index", stderr)
    assert m, stderr
    return int(m.group(1)), int(m.group(2))


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree(root):
    """{relative path: (sha256, executable)} of the regular files below root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            out[os.path.relpath(path, root)] = (sha256(path), os.access(path, os.X_OK))
    return out


def make_tree(root):
    """A tree with an executable, nested directories, an empty file and
    UTF-8 names; its files are older than a clock tick when this returns."""
    (root / "nested" / "deeper").mkdir(parents=True)
    (root / "a.csv").write_bytes(b"x,y\n1,2\n")
    (root / "run.sh").write_bytes(b"#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    (root / "empty").write_bytes(b"")
    (root / "nested" / "deeper" / "weights.bin").write_bytes(os.urandom(100000))
    (root / "nested" / "ünïcødé ✓.txt").write_text("ünïcødé\n")
    time.sleep(0.05)
    return root


def cached_objects(cache):
    root = cache / "objects" / "sha256"
    if not root.exists():
        return []
    return sorted(p.parent.name + p.name for p in root.glob("*/*"))


def test_round_trip_keeps_files_modes_and_links_read_only(aero_init, env, tmp_path, cache):
    src = make_tree(tmp_path / "src")
    result = put(aero_init, env, "data", src)
    assert result["op"] == "put" and result["name"] == "data" and result["version"] == 1
    assert result["files"] == 5 and result["unchanged"] is False and result["dir"] is None
    assert result["size"] == sum(os.path.getsize(src / p) for p in tree(src))
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", result["digest"])

    out = tmp_path / "out"
    got = get(aero_init, env, "data", out)
    assert got == {**result, "op": "get", "dir": str(out)}
    assert tree(out) == tree(src)
    for path in tree(out):
        st = os.lstat(out / path)
        assert st.st_mode & 0o222 == 0, path  # read-only
        if not st.st_mode & stat.S_IXUSR:
            # Hardlinked from the cache (this filesystem has no reflinks).
            obj = cache / "objects" / "sha256" / sha256(out / path)[:2] / sha256(out / path)[2:]
            assert os.stat(obj).st_ino == st.st_ino, path
    assert os.stat(out / "nested").st_mode & 0o200  # directories stay writable
    # Every object once in the cache, read-only; nothing left in tmp/.
    assert len(cached_objects(cache)) == 5
    assert all(not p.stat().st_mode & 0o222 for p in (cache / "objects").glob("*/*/*"))
    assert not [p for p in (cache / "tmp").iterdir() if p.suffix == ".part"]


def test_versions_and_unchanged_reput_sends_nothing(aero_init, env, tmp_path, store):
    src = make_tree(tmp_path / "src")
    assert put(aero_init, env, "data", src)["version"] == 1
    objects = store.keys("objects/")
    writes = store.object_writes()
    assert writes  # the first put's writes are seen

    r = put(aero_init, env, "data", src, check=False)
    assert r.returncode == 0, r.stderr
    again = json.loads(r.stdout)
    assert again["version"] == 1 and again["unchanged"] is True
    assert "unchanged: data:v1" in r.stderr
    assert sent(r.stderr) == (0, "0 B")
    assert store.keys("objects/") == objects
    assert store.object_writes() == writes
    assert store.keys("names/") == ["names/data/v1.json"]

    (src / "a.csv").chmod(0o644)
    (src / "a.csv").write_bytes(b"x,y\n3,4\n")
    r = put(aero_init, env, "data", src, check=False)
    v2 = json.loads(r.stdout)
    assert v2["version"] == 2 and v2["unchanged"] is False and v2["digest"] != again["digest"]
    assert sent(r.stderr) == (1, "8 B")  # only the changed file's object

    # Back to v1's content: newer than v2, so a new version, with nothing sent.
    (src / "a.csv").write_bytes(b"x,y\n1,2\n")
    r = put(aero_init, env, "data", src, check=False)
    v3 = json.loads(r.stdout)
    assert v3["version"] == 3 and v3["digest"] == again["digest"] and sent(r.stderr)[0] == 0

    record = json.loads(store.read("names/data/v2.json"))
    assert record["name"] == "data" and record["version"] == 2
    assert record["manifest"] == v2["digest"] and record["files"] == 5
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["created"])
    manifest = json.loads(store.read("manifests/sha256/%s.json" % v2["digest"][7:]))
    assert manifest["schema"] == "aeromancy.artifact/1"
    paths = [f["path"] for f in manifest["files"]]
    assert paths == sorted(paths, key=lambda p: p.encode())
    assert {f["path"]: f["mode"] for f in manifest["files"]}["run.sh"] == "0755"
    assert {f["path"]: f["size"] for f in manifest["files"]}["empty"] == 0
    text = store.read("manifests/sha256/%s.json" % v2["digest"][7:])
    assert hashlib.sha256(text).hexdigest() == v2["digest"][7:]


def test_put_asks_about_small_objects_at_once(aero_init, env, tmp_path, store):
    """A put hashes every file, then asks the store about all small files'
    objects at once (on S3: one listing page, no HEAD each), and sends each
    missing object once, however many files have its bytes. A file of 1 MiB
    or more is sent as soon as it is hashed, after a HEAD of its own."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(40):
        (src / ("f%02d" % i)).write_bytes(b"file %d\n" % i)
    (src / "same-as-f00").write_bytes(b"file 0\n")
    (src / "big.bin").write_bytes(os.urandom(1 << 20))
    time.sleep(0.05)
    since = store.requests_logged()
    r = put(aero_init, env, "data", src, check=False)
    assert r.returncode == 0, r.stderr
    assert sent(r.stderr) == (41, "1.0 MiB")
    assert "0 already in the store" in r.stderr
    assert len(store.keys("objects/")) == 41
    if store.kind == "s3":
        requests = store.requests(since)
        assert len([t for m, t in requests if m == "HEAD" and "/objects/" in t]) == 1
        assert len([t for m, t in requests if m == "PUT" and "/objects/" in t]) == 41
        # (The aws CLI's listing in store.keys has no max-keys.)
        assert len([t for m, t in requests if "max-keys" in t and "/objects/" in t]) == 1

    (src / "f01").write_bytes(b"changed\n")
    time.sleep(0.05)
    since = store.requests_logged()
    r = put(aero_init, env, "data", src, check=False)
    assert r.returncode == 0, r.stderr
    assert sent(r.stderr) == (1, "8 B") and "40 already in the store" in r.stderr
    if store.kind == "s3":
        requests = store.requests(since)
        assert [t for m, t in requests if m == "PUT" and "/objects/" in t] == [
            "/%s/%s/objects/sha256/%s/%s" % (BUCKET, store.prefix, digest[:2], digest[2:])
            for digest in [hashlib.sha256(b"changed\n").hexdigest()]]
        assert len([t for m, t in requests if m == "HEAD" and "/objects/" in t]) == 1


def test_references(aero_init, aero_launch, env, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    digests = {}
    for v in (1, 2, 3):
        (src / "f").write_text("version %d\n" % v)
        digests[v] = put(aero_init, env, "data", src)["digest"]
    for ref, version in [("data", 3), ("data:latest", 3), ("data:v1", 1), ("data:2", 2),
                         ("data@" + digests[2], 2)]:
        out = tmp_path / ("out-" + ref.replace(":", "_").replace("@", "_"))
        got = get(aero_init, env, ref, out)
        assert got["version"] == version and got["digest"] == digests[version], ref
        assert (out / "f").read_text() == "version %d\n" % version

    r = run(aero_launch, ["artifact", "ls"], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[1].split()[:3] == ["data", "v3", "1"]
    r = run(aero_launch, ["artifact", "ls", "--json", "data"], env)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["version"] for row in rows] == [3, 2, 1]
    assert [row["digest"] for row in rows] == [digests[3], digests[2], digests[1]]
    r = run(aero_launch, ["artifact", "show", "--json", "data:v2"], env)
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["record"]["manifest"] == digests[2]
    assert [f["path"] for f in shown["files"]] == ["f"]
    r = run(aero_launch, ["artifact", "show", "data@" + digests[1]], env)
    assert r.returncode == 0 and "version:  1" in r.stdout and "0644" in r.stdout


def test_unknown_names_versions_and_bad_references(aero_init, aero_launch, env, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("x")
    put(aero_init, env, "data", src)
    out = tmp_path / "out"
    for ref in ["nope", "nope:v1", "data:v2", "data@sha256:" + "0" * 64]:
        r = get(aero_init, env, ref, out, check=False)
        assert r.returncode == UNKNOWN, (ref, r.stderr)
        assert "aero-launch artifact ls" in r.stderr
    assert not out.exists()
    for ref in ["../data", "/etc/passwd", "data:v0", "data@sha256:abc", "da ta"]:
        r = get(aero_init, env, ref, out, check=False)
        assert r.returncode == BAD_INPUT, (ref, r.stderr)
    r = put(aero_init, env, "../evil", src, check=False)
    assert r.returncode == BAD_INPUT and "not an artifact name" in r.stderr
    r = put(aero_init, env, "data", tmp_path / "missing", check=False)
    assert r.returncode == BAD_INPUT and "missing" in r.stderr
    assert run(aero_launch, ["artifact", "ls", "nope"], env).returncode == UNKNOWN
    assert run(aero_launch, ["artifact", "show", "data:v9"], env).returncode == UNKNOWN
    assert run(aero_launch, ["artifact", "get", "nope", str(out)], env).returncode == UNKNOWN
    # Usage: aero-launch 2, aero-init 125.
    assert run(aero_launch, ["artifact", "get", "data"], env).returncode == 2
    assert run(aero_init, ["artifact", "get", "data"], env).returncode == 125
    assert run(aero_init, ["artifact", "frob"], env).returncode == 125


def _concurrent(commands, env):
    procs = [subprocess.Popen(c, env=clean_env(env), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for c in commands]
    return [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]


def test_concurrent_puts_get_distinct_consecutive_versions(aero_init, env, tmp_path, store):
    if isinstance(store, S3Store):
        # moto 5.2 checks If-None-Match and stores the object in two steps, so
        # two racing conditional puts can both succeed (seen with plain curl,
        # doc/store.md); real S3 is atomic. The allocation itself is proven on
        # the file store, whose link(2) is.
        pytest.skip("moto_server's conditional writes are not atomic")
    dirs = []
    for i in range(8):
        d = tmp_path / ("src%d" % i)
        d.mkdir()
        (d / "f").write_text("content %d\n" % i)
        dirs.append(d)
    results = _concurrent([[aero_init, "artifact", "put", "--json", "data", str(d)]
                           for d in dirs], env)
    assert all(rc == 0 for rc, _, _ in results), [err for _, _, err in results]
    versions = [json.loads(out)["version"] for _, out, _ in results]
    digests = [json.loads(out)["digest"] for _, out, _ in results]
    assert sorted(versions) == list(range(1, 9))
    assert len(set(digests)) == 8
    for _, out, _ in results:  # each version holds what its put sent
        r = json.loads(out)
        got = get(aero_init, env, "data:v%d" % r["version"], tmp_path / ("o%d" % r["version"]))
        assert got["digest"] == r["digest"]


def test_concurrent_gets_share_one_cache_entry_per_object(aero_init, env, tmp_path, cache):
    src = make_tree(tmp_path / "src")
    (src / "big.bin").write_bytes(os.urandom(8 << 20))
    (src / "copy.bin").write_bytes((src / "big.bin").read_bytes())  # same object twice
    put(aero_init, env, "data", src)
    outs = [tmp_path / ("out%d" % i) for i in range(8)]
    results = _concurrent([[aero_init, "artifact", "get", "--json", "data", str(o)]
                           for o in outs], env)
    assert all(rc == 0 for rc, _, _ in results), [err for _, _, err in results]
    expected = tree(src)
    for o in outs:
        assert tree(o) == expected
    assert len({json.loads(out)["digest"] for _, out, _ in results}) == 1
    assert len(cached_objects(cache)) == 6  # 7 files, two with the same bytes
    fetched = sum(int(re.search(r"(\d+) objects? fetched", err).group(1))
                  for _, _, err in results)
    assert fetched == 6  # each object downloaded once, whoever did it
    assert [p.name for p in (cache / "tmp").iterdir()] == []


def test_kill_during_get_leaves_no_entry_and_no_half_file(aero_init, env, tmp_path, cache):
    src = tmp_path / "src"
    src.mkdir()
    size = 256 << 20
    with open(src / "big.bin", "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    (src / "small.txt").write_text("small\n")
    digest = sha256(src / "big.bin")
    put(aero_init, env, "data", src)
    part = cache / "tmp" / (digest + ".part")
    entry = cache / "objects" / "sha256" / digest[:2] / digest[2:]
    out = tmp_path / "out"
    caught = False
    for _ in range(5):
        shutil.rmtree(cache, ignore_errors=True)
        p = subprocess.Popen([aero_init, "artifact", "get", "data", str(out)],
                             env=clean_env({**env, "AERO_STORE_JOBS": "1"}),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while p.poll() is None:
            try:
                have = part.stat().st_size
            except FileNotFoundError:
                continue
            if 8 << 20 <= have < size:  # enough to resume from (at a MiB boundary)
                p.send_signal(signal.SIGKILL)
                caught = True
                break
        p.wait()
        if caught:
            break
        shutil.rmtree(out, ignore_errors=True)
    assert caught, "the get always finished before it could be killed"
    assert not entry.exists()  # a partial download never becomes an entry
    assert not out.exists() or not any(out.iterdir())  # nothing placed yet, let alone half
    assert 0 < part.stat().st_size < size
    # Holes, as a backend writing ranges in parallel leaves them: the download
    # resumes before the first one (and the final digest check has the last word).
    with open(part, "r+b") as f:
        f.truncate(size - (1 << 20))

    r = get(aero_init, env, "data", out, check=False, args=["-v"])
    assert r.returncode == 0, r.stderr
    assert "resuming the download of sha256:%s" % digest[:12] in r.stderr
    assert "starting it over" not in r.stderr  # resumed before the hole, not past it
    assert sha256(out / "big.bin") == digest and sha256(entry) == digest
    assert not part.exists()


def test_flipped_byte_in_cached_object_is_detected_and_fetched_again(aero_init, env, tmp_path,
                                                                      cache):
    src = make_tree(tmp_path / "src")
    put(aero_init, env, "data", src)
    get(aero_init, env, "data", tmp_path / "first")
    digest = sha256(src / "nested" / "deeper" / "weights.bin")
    obj = cache / "objects" / "sha256" / digest[:2] / digest[2:]
    before = os.stat(obj)
    # A plain write, with the mtime put back: only the ctime tells.
    os.chmod(obj, 0o644)
    fd = os.open(obj, os.O_WRONLY)
    byte = os.pread(os.open(obj, os.O_RDONLY), 1, 5000)
    os.pwrite(fd, bytes([byte[0] ^ 0x01]), 5000)
    os.close(fd)
    os.chmod(obj, 0o444)
    os.utime(obj, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(obj).st_mtime_ns == before.st_mtime_ns and sha256(obj) != digest

    # A small object (hashed on every use, never recorded), damaged too.
    small = sha256(src / "a.csv")
    small_obj = cache / "objects" / "sha256" / small[:2] / small[2:]
    os.chmod(small_obj, 0o644)
    small_obj.write_bytes(b"x,y\n6,6\n")
    os.chmod(small_obj, 0o444)

    r = get(aero_init, env, "data", tmp_path / "second", check=False)
    assert r.returncode == 0, r.stderr
    assert "has bytes that hash to" in r.stderr and "fetching it again" in r.stderr
    assert r.stderr.count("fetching it again") == 2, r.stderr
    assert sha256(tmp_path / "second" / "nested" / "deeper" / "weights.bin") == digest
    assert sha256(tmp_path / "second" / "a.csv") == small
    assert sha256(obj) == digest and sha256(small_obj) == small
    # A get that finds nothing wrong says nothing; --verify hashes all again.
    r = get(aero_init, env, "data", tmp_path / "third", check=False, args=["--verify"])
    assert r.returncode == 0 and "fetching it again" not in r.stderr


def _plant(store, name, files, objects=None):
    """Plants a version 1 of name whose manifest lists files (dicts) and the
    objects (digest -> bytes); returns the manifest digest."""
    for digest, data in (objects or {}).items():
        store.write(store.object_key(digest), data)
    text = json.dumps({"files": files, "schema": "aeromancy.artifact/1"},
                      separators=(",", ":"), sort_keys=True).encode()
    digest = hashlib.sha256(text).hexdigest()
    store.write("manifests/sha256/%s.json" % digest, text)
    record = {"name": name, "version": 1, "manifest": "sha256:" + digest, "files": len(files),
              "size": sum(f["size"] for f in files), "created": "2026-01-01T00:00:00.000Z",
              "lineage": {"run": None, "git_commit": None, "image_id": None, "inputs": []}}
    store.write("names/%s/v1.json" % name, json.dumps(record).encode())
    return digest


@pytest.mark.parametrize("path", ["../x", "/etc/x", "a/../../x", "a//b", "./x"])
def test_hostile_manifest_paths_are_refused(aero_init, env, tmp_path, store, path):
    data = b"owned\n"
    digest = hashlib.sha256(data).hexdigest()
    ok = {"path": "fine.txt", "sha256": digest, "size": len(data), "mode": "0644"}
    bad = {"path": path, "sha256": digest, "size": len(data), "mode": "0644"}
    _plant(store, "evil", sorted([ok, bad], key=lambda f: f["path"].encode()), {digest: data})
    out = tmp_path / "deep" / "out"
    r = get(aero_init, env, "evil", out, check=False)
    assert r.returncode == BAD_INPUT, r.stderr
    assert "refusing the manifest" in r.stderr and "nothing was written" in r.stderr
    assert not out.exists() and not (tmp_path / "deep" / "x").exists()
    assert not os.path.exists("/etc/x")


def test_symlink_planted_in_dir_is_not_followed(aero_init, env, tmp_path):
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "a" / "b").write_text("b\n")
    (src / "c").write_text("c\n")
    put(aero_init, env, "data", src)
    out = tmp_path / "out"
    outside = tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    os.symlink(outside, out / "a")
    r = get(aero_init, env, "data", out, check=False)
    assert r.returncode == BAD_INPUT, r.stderr
    assert list(outside.iterdir()) == [] and not (out / "c").exists()


def test_object_that_does_not_match_its_digest(aero_init, env, tmp_path, store, cache):
    src = make_tree(tmp_path / "src")
    put(aero_init, env, "data", src)
    digest = sha256(src / "a.csv")
    store.write(store.object_key(digest), b"x,y\n6,6\n")  # same size, other bytes
    out = tmp_path / "out"
    r = get(aero_init, env, "data", out, check=False)
    assert r.returncode == DIGEST, r.stderr
    assert "hash to sha256:" in r.stderr and digest in r.stderr
    assert digest not in cached_objects(cache)
    assert not (cache / "tmp" / (digest + ".part")).exists()
    assert not out.exists() or tree(out) == {}
    # A manifest whose bytes do not match its digest, too (the object mended).
    store.write(store.object_key(digest), (src / "a.csv").read_bytes())
    v = json.loads(store.read("names/data/v1.json"))
    key = "manifests/sha256/%s.json" % v["manifest"][7:]
    store.write(key, store.read(key).replace(b"0644", b"0755", 1))
    r = get(aero_init, env, "data", out, check=False)
    assert r.returncode == DIGEST, r.stderr


def test_denied_and_failing_stores(aero_init, env, tmp_path, store, request):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("x")
    put(aero_init, env, "data", src)
    out = str(tmp_path / "o")
    if store.kind == "s3":
        # Keys moto does not know, once it checks signatures.
        store.moto.reset_auth("0")
        try:
            r = get(aero_init, {**env, "AWS_SECRET_ACCESS_KEY": "wrong"}, "data", out,
                    check=False)
        finally:
            store.moto.reset_auth("inf")
        assert r.returncode == DENIED, r.stderr
        r = get(aero_init, {**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, "data", out,
                check=False)
        assert r.returncode == STORE, r.stderr
    elif os.geteuid() == 0:  # a store this user may not read: run as nobody
        if not shutil.which("setpriv"):
            pytest.skip("no setpriv to run as another user")
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            aero_init, "artifact", "get", "data", "/nonexistent/o"],
                           env=clean_env({**env, "AERO_CACHE_DIR": "/nonexistent/c"}),
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == DENIED and "permission" in r.stderr.lower(), r.stderr
    else:
        os.chmod(store.root, 0)
        r = get(aero_init, env, "data", out, check=False)
        os.chmod(store.root, 0o755)
        assert r.returncode == DENIED and "permission" in r.stderr.lower(), r.stderr
    r = run(aero_init, ["artifact", "get", "data", out], {**env, "AERO_STORE": "gopher://x"})
    assert r.returncode == STORE, r.stderr
    store.remove(store.object_key(sha256(src / "f")))
    r = get(aero_init, env, "data", out, check=False)
    assert r.returncode == STORE and "missing from" in r.stderr, r.stderr


def test_existing_files_in_dir(aero_init, env, tmp_path):
    src = make_tree(tmp_path / "src")
    put(aero_init, env, "data", src)
    out = tmp_path / "out"
    (out / "nested").mkdir(parents=True)
    (out / "a.csv").write_bytes(b"x,y\n1,2\n")  # the same content: kept
    (out / "mine.txt").write_text("mine")  # not in the artifact: kept
    get(aero_init, env, "data", out)
    assert (out / "mine.txt").read_text() == "mine" and tree(src).items() <= tree(out).items()

    out2 = tmp_path / "out2"
    (out2 / "nested").mkdir(parents=True)
    (out2 / "nested" / "ünïcødé ✓.txt").write_text("other\n")
    r = get(aero_init, env, "data", out2, check=False)
    assert r.returncode == BAD_INPUT and "exists with different content" in r.stderr
    assert sorted(tree(out2)) == ["nested/ünïcødé ✓.txt"]  # nothing else was written


def test_put_symlinks(aero_init, env, tmp_path):
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "real.txt").write_text("real\n")
    os.symlink("d/real.txt", src / "link.txt")
    result = put(aero_init, env, "data", src)
    assert result["files"] == 2
    get(aero_init, env, "data", tmp_path / "out")
    assert not os.path.islink(tmp_path / "out" / "link.txt")
    assert (tmp_path / "out" / "link.txt").read_text() == "real\n"

    (tmp_path / "secret").write_text("secret\n")
    os.symlink(tmp_path / "secret", src / "escape")
    r = put(aero_init, env, "data", src, check=False)
    assert r.returncode == BAD_INPUT and "leads out of the directory" in r.stderr
    os.remove(src / "escape")
    os.symlink("d", src / "dirlink")
    r = put(aero_init, env, "data", src, check=False)
    assert r.returncode == BAD_INPUT and "other than a regular file" in r.stderr


def test_index_spares_rehashing_unchanged_files(aero_init, env, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("one.bin", "two.bin"):  # 64 KiB and more: worth a stat record
        (src / name).write_bytes(os.urandom(100000))
    (src / "small.txt").write_text("small files are always hashed\n")
    time.sleep(0.05)
    r = put(aero_init, env, "data", src, check=False)
    assert hashed(r.stderr) == (3, 0)
    r = put(aero_init, env, "data", src, check=False)
    assert hashed(r.stderr) == (1, 2)
    # New bytes, same size, the mtime put back: the ctime still changes, so the
    # file is hashed again (git's index compares ctime too).
    path = src / "one.bin"
    before = os.stat(path)
    with open(path, "r+b") as f:
        f.write(b"changed")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    time.sleep(0.05)
    r = put(aero_init, env, "data", src, check=False)
    assert hashed(r.stderr) == (2, 1)
    assert json.loads(r.stdout)["version"] == 2


def test_artifacts_jsonl_and_lineage(aero_init, aero_launch, env, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("input\n")
    data = put(aero_init, env, "data", src)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    run_env = {**env, "AERO_RUN_DIR": str(run_dir), "AERO_RUN_ID": "run-42",
               "AERO_GIT_COMMIT": "c0ffee", "AERO_IMAGE_ID": "sha256:" + "1" * 64}
    got = get(aero_init, run_env, "data", tmp_path / "in")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "m.bin").write_bytes(b"model")
    model = put(aero_init, run_env, "model", tmp_path / "model")
    lines = [json.loads(line) for line in (run_dir / "artifacts.jsonl").read_text().splitlines()]
    assert lines == [got, model]
    assert got["digest"] == data["digest"]
    r = run(aero_launch, ["artifact", "show", "--json", "model"], env)
    lineage = json.loads(r.stdout)["record"]["lineage"]
    assert lineage == {"run": "run-42", "git_commit": "c0ffee", "image_id": "sha256:" + "1" * 64,
                       "inputs": [{"name": "data", "version": 1, "digest": data["digest"]}]}
    # A run started by aero-init alone exports no AERO_RUN_ID: its manifest says.
    (run_dir / "manifest.json").write_text(json.dumps(
        {"run": {"id": "run-43"}, "git": {"absent": "not from a checkout"},
         "image": {"id": "sha256:" + "2" * 64}}))
    (tmp_path / "model" / "m.bin").write_bytes(b"model 1b")
    put(aero_init, {**env, "AERO_RUN_DIR": str(run_dir)}, "model", tmp_path / "model")
    r = run(aero_launch, ["artifact", "show", "--json", "model"], env)
    lineage = json.loads(r.stdout)["record"]["lineage"]
    assert (lineage["run"], lineage["git_commit"], lineage["image_id"]) == (
        "run-43", None, "sha256:" + "2" * 64)
    # Without a run, no journal and an empty lineage.
    (tmp_path / "model" / "m.bin").write_bytes(b"model 2")
    put(aero_init, env, "model", tmp_path / "model")
    r = run(aero_launch, ["artifact", "show", "--json", "model:v3"], env)
    assert json.loads(r.stdout)["record"]["lineage"] == {
        "run": None, "git_commit": None, "image_id": None, "inputs": []}


def test_manifest_lists_a_transfer_before_the_journal_shows_it(aero_init, env, tmp_path, store):
    """The courier tells the trackers what the manifest says when it sees a new
    journal line: the manifest must already list that line's artifact."""
    if isinstance(store, S3Store):
        pytest.skip("the order of the run's own files does not depend on the store")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text(json.dumps({"run": {"id": "run-1"}}))
    journal_path = run_dir / "artifacts.jsonl"
    dirs = []
    for i in range(12):
        d = tmp_path / ("src%d" % i)
        d.mkdir()
        (d / "f").write_text("content %d\n" % i)
        dirs.append(d)
    run_env = clean_env({**env, "AERO_RUN_DIR": str(run_dir)})
    procs = [subprocess.Popen([aero_init, "artifact", "put", "--json", "a%d" % i, str(d)],
                              env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for i, d in enumerate(dirs)]
    seen, early = set(), []
    while True:
        done = all(p.poll() is not None for p in procs)
        try:
            lines = journal_path.read_text().splitlines()
        except FileNotFoundError:
            lines = []
        new = [json.loads(line)["name"] for line in lines
               if line and json.loads(line)["name"] not in seen]
        if new:
            listed = {o["name"] for o in
                      json.loads((run_dir / "manifest.json").read_text()).get("outputs", [])}
            early += [n for n in new if n not in listed]
            seen.update(new)
        if done:
            break
    assert all(p.returncode == 0 for p in procs), [p.stderr.read() for p in procs]
    assert seen == {"a%d" % i for i in range(12)}
    assert early == [], "journal lines seen before the manifest listed them: %s" % early


def test_overrides(aero_init, env, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    digests = []
    for v in (1, 2):
        (src / "f").write_text("v%d\n" % v)
        digests.append(put(aero_init, env, "data", src)["digest"])
    o = {**env, "AERO_ARTIFACT_OVERRIDES": "other=v9,data=v1"}
    r = get(aero_init, o, "data:latest", tmp_path / "a", check=False)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"] == 1
    assert "AERO_ARTIFACT_OVERRIDES: getting data:v1 instead of data:latest" in r.stderr
    o["AERO_ARTIFACT_OVERRIDES"] = "data=" + digests[1]
    assert get(aero_init, o, "data:v1", tmp_path / "b")["version"] == 2
    o["AERO_ARTIFACT_OVERRIDES"] = "data=v1,data=v2"
    r = get(aero_init, o, "data", tmp_path / "c", check=False)
    assert r.returncode == BAD_INPUT and "twice" in r.stderr


def test_gc_evicts_least_recently_used_and_keeps_linked(aero_init, aero_launch, env, tmp_path,
                                                        cache):
    digests = {}
    for name in ("a", "b", "c"):
        d = tmp_path / ("src-" + name)
        d.mkdir()
        (d / "blob").write_bytes(os.urandom(1 << 20))
        digests[name] = sha256(d / "blob")
        put(aero_init, env, name, d)
    for name in ("a", "b", "c", "a"):  # b is now the least recently used
        out = tmp_path / ("out-" + name)
        shutil.rmtree(out, ignore_errors=True)
        get(aero_init, env, name, out)
        time.sleep(0.02)
    for name in ("a", "b"):
        shutil.rmtree(tmp_path / ("out-" + name))  # c stays linked
    assert len(cached_objects(cache)) == 3

    r = run(aero_launch, ["cache", "gc", "--json", "--max-size", "2500K"], env)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["objects"] == 3 and report["removed_objects"] == 1
    assert cached_objects(cache) == sorted([digests["a"], digests["c"]])

    r = run(aero_launch, ["cache", "gc", "--max-size", "0"], env)
    assert r.returncode == 0, r.stderr
    assert cached_objects(cache) == [digests["c"]]
    assert "kept 1 objects (1.0 MiB) still linked" in r.stdout
    assert run(aero_launch, ["cache", "gc", "--max-size", "lots"], env).returncode == 2
    # An evicted object comes back on the next get.
    get(aero_init, env, "a", tmp_path / "again")


def test_aero_launch_get_put_and_help(aero_init, aero_launch, env, tmp_path):
    src = make_tree(tmp_path / "src")
    r = run(aero_launch, ["artifact", "put", "--json", "data", str(src)], env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"] == 1
    r = run(aero_launch, ["artifact", "get", "--json", "data:v1", str(tmp_path / "out")], env)
    assert r.returncode == 0, r.stderr
    assert tree(tmp_path / "out") == tree(src)
    for program, args in [(aero_launch, ["artifact", "--help"]),
                          (aero_launch, ["artifact", "get", "--help"]),
                          (aero_launch, ["cache", "--help"]),
                          (aero_init, ["artifact", "--help"]),
                          (aero_init, ["artifact", "put", "--help"])]:
        r = run(program, args, env)
        assert r.returncode == 0 and "Usage:" in r.stdout and "76" in r.stdout or \
            args[0] == "cache", (args, r.stdout)

