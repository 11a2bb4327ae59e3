#!/usr/bin/env python3
"""Store transfers: `aero-init store put` and `get` of a 1 GiB file (256 MiB
with BENCH_QUICK=1) against `aws s3 cp` of the same file, both to one
moto_server on this machine, in interleaved rounds. Reports the ratio of the
times (ours / aws; lower is better, below 1 is faster than the aws CLI), per
round and the median; each download is checked against the file.

Both clients use their default part sizes and concurrency (ours: 64 MiB
threshold, 8 MiB parts, 8 at once; the aws CLI: 8 MiB, 8 MiB, 10). moto is
one Python process, so these ratios say how the clients compare on the same
server, not what S3 itself would do.

Then many small files (10,000 of 1-8 KiB; 2,000 with BENCH_QUICK=1):
`aero-init artifact put` and a fresh `get` of them as one artifact (objects,
manifest and version record, eight transfers at a time) against `aws s3 sync`
up and down, on the same server, each to a prefix of its own; once, or in
ROUNDS interleaved rounds with --small (which skips the big file).

Usage: bench/store.py [--small] [AERO_INIT] [ROUNDS]"""
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from helpers.motoserver import MotoServer, base_env, missing_programs  # noqa: E402

BUCKET = "aero-bench"


def make_file(path, size):
    """size pseudo-random bytes (not compressible, cheap to make)."""
    block = os.urandom(1 << 20)
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for i in range(size >> 20):
            chunk = hashlib.sha256(b"%d" % i).digest() + block[32:]
            f.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def timed(cmd, env):
    start = time.monotonic()
    res = subprocess.run(cmd, env=env, capture_output=True)
    took = time.monotonic() - start
    if res.returncode != 0:
        raise SystemExit("bench/store: %s failed: %s" % (" ".join(cmd[:4]),
                                                         res.stderr.decode(errors="replace")))
    return took


def small_files(aero_init, server, work, env, rounds=1):
    count = 2000 if os.environ.get("BENCH_QUICK") == "1" else 10000
    src = os.path.join(work, "small")
    os.makedirs(src)
    for i in range(count):
        sub = os.path.join(src, "d%02d" % (i % 50))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "f%05d" % i), "wb") as f:
            f.write(os.urandom(1024 + (i * 7919) % 7168))
    sync = ["aws", "--endpoint-url", server.endpoint, "s3", "sync", "--only-show-errors"]
    put_ratios, get_ratios = [], []
    for r in range(rounds):
        # A store, a cache and an aws prefix of its own each round: both start empty.
        art_env = dict(env, AERO_STORE="s3://%s/art%d" % (BUCKET, r),
                       AERO_CACHE_DIR=os.path.join(work, "cache%d" % r))
        dests = [os.path.join(work, "o%d-%d" % (r, n)) for n in (1, 2)]
        ours_put = timed([aero_init, "artifact", "put", "-q", "small", src], art_env)
        aws_put = timed(sync + [src, "s3://%s/sync%d" % (BUCKET, r)], env)
        ours_get = timed([aero_init, "artifact", "get", "-q", "small", dests[0]], art_env)
        aws_get = timed(sync + ["s3://%s/sync%d" % (BUCKET, r), dests[1]], env)
        for dest in dests:
            got = sum(len(files) for _, _, files in os.walk(dest))
            assert got == count, "%s holds %d files, not %d" % (dest, got, count)
            shutil.rmtree(dest, ignore_errors=True)
        put_ratios.append(ours_put / aws_put)
        get_ratios.append(ours_get / aws_get)
        print("bench/store: %d small files: put %.2f, get %.2f (ours/aws s3 sync time; "
              "ours %.1f s and %.1f s, aws %.1f s and %.1f s)"
              % (count, put_ratios[-1], get_ratios[-1], ours_put, ours_get, aws_put, aws_get))
    if rounds > 1:
        print("bench/store: small files, median ours/aws s3 sync time: put %.2f, get %.2f"
              % (statistics.median(put_ratios), statistics.median(get_ratios)))


def main():
    args = sys.argv[1:]
    small_only = "--small" in args
    args = [a for a in args if a != "--small"]
    aero_init = os.path.abspath(args[0] if args else "build/static/aero-init")
    rounds = int(args[1]) if len(args) > 1 else 3
    size = (256 if os.environ.get("BENCH_QUICK") == "1" else 1024) << 20
    missing = missing_programs()
    if missing:
        print("bench/store: skipped: %s not installed" % " and ".join(missing))
        return
    work = tempfile.mkdtemp(prefix="aero-bench-store-",
                            dir=os.environ.get("BENCH_DIR") or None)
    server = MotoServer(work)
    try:
        server.wait_ready()
        server.aws("s3", "mb", "s3://" + BUCKET)
        env = base_env(work)
        env.update({"AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"})
        if small_only:
            small_files(aero_init, server, work, env, rounds)
            return
        src = os.path.join(work, "data")
        want = make_file(src, size)
        aws = ["aws", "--endpoint-url", server.endpoint, "s3", "cp", "--only-show-errors"]
        url = "s3://" + BUCKET
        print("bench/store: %d MiB, put and get, aero-init store vs aws s3 cp, moto_server, "
              "%d interleaved rounds" % (size >> 20, rounds))
        put_ratios, get_ratios = [], []
        for r in range(rounds):
            ours_put = timed([aero_init, "store", "put", url, "ours", src], env)
            aws_put = timed(aws + [src, "%s/aws" % url], env)
            out = os.path.join(work, "out")
            ours_get = timed([aero_init, "store", "get", url, "aws", out], env)
            assert sha256_of(out) == want, "aero-init store get returned other bytes"
            os.unlink(out)
            aws_get = timed(aws + ["%s/ours" % url, out], env)
            assert sha256_of(out) == want, "the aws CLI read other bytes than we wrote"
            os.unlink(out)
            for key in ("ours", "aws"):
                subprocess.run([aero_init, "store", "rm", url, key], env=env, check=True)
            put_ratios.append(ours_put / aws_put)
            get_ratios.append(ours_get / aws_get)
            print("  round %d: put %.2f, get %.2f (ours/aws time)"
                  % (r + 1, put_ratios[-1], get_ratios[-1]))
        print("bench/store: median ours/aws time: put %.2f, get %.2f (lower is better)"
              % (statistics.median(put_ratios), statistics.median(get_ratios)))
        small_files(aero_init, server, work, env)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
