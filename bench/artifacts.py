#!/usr/bin/env python3
"""bench/artifacts: aero-init artifact put/get against `cp -r` on the same
disk, in one run, with a file:// store.

Two artifacts: one file of BIG_MIB MiB (default 1024) and SMALL small files
(default 10,000, 1-8 KiB each, in 100 directories). For each: a put into an
empty store, a get with an empty cache (a fresh get), and a get of the cached
artifact into a new directory; the peer is `cp -r` of the same tree (once
plain, once followed by `sync`, since the store and the cache fsync what they
write). Targets: a cached get of the big artifact under 1% of a fresh get
(materialised by hardlink or reflink, verified by the cache's stat record);
SHA-256 at least as fast as sha256sum (one core each).

Everything runs with a warm page cache; the ratios are aero / cp. Wall times
and CPU times (user + system, from wait4) are both shown: on a shared machine
the CPU times are the steadier measure.

Usage: bench/artifacts.py AERO_INIT [BIG_MIB] [SMALL]
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


def timed(argv, env=None):
    """(wall seconds, CPU seconds, stderr) of one run."""
    began = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - began
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("bench/artifacts: %s failed (%d): %s" % (" ".join(argv), p.returncode, err))
    return elapsed, usage.ru_utime + usage.ru_stime, err


def make_big(path, mib):
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(1 << 20))


def make_small(root, count):
    for i in range(count):
        d = os.path.join(root, "d%02d" % (i % 100))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "f%05d.json" % i), "wb") as f:
            f.write(os.urandom(1024 + (i * 7919) % 7168))


def cp(src, dest, sync):
    argv = ["sh", "-c", 'cp -r "$0" "$1"' + (" && sync" if sync else ""), src, dest]
    return timed(argv)[:2]


def bench_tree(aero_init, work, name, src):
    """(wall, CPU) of put, fresh get, cached get, and cp -r (plain, with sync)."""
    env = dict(os.environ, AERO_STORE="file://" + os.path.join(work, "store-" + name),
               AERO_CACHE_DIR=os.path.join(work, "cache-" + name))
    subprocess.run(["sync"], check=True)
    out = {"cp": cp(src, os.path.join(work, "cp-" + name), False),
           "cp_sync": cp(src, os.path.join(work, "cp-sync-" + name), True)}
    wall, cpu, err = timed([aero_init, "artifact", "put", "-vv", name, src], env)
    out["put"] = (wall, cpu)
    rate = re.search(r"\((\d+) MB/s\)", err)
    out["hash_mbs"] = int(rate.group(1)) if rate else 0
    out["get"] = timed([aero_init, "artifact", "get", "-q", name,
                        os.path.join(work, "get-" + name)], env)[:2]
    out["cached"] = timed([aero_init, "artifact", "get", "-q", name,
                           os.path.join(work, "cached-" + name)], env)[:2]
    return out


def sha256sum_mbs(path, size):
    """sha256sum's throughput per CPU second."""
    return size / timed(["sha256sum", path])[1] / 1e6


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    aero_init = os.path.abspath(sys.argv[1])
    big_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    small = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    work = tempfile.mkdtemp(prefix="aero-bench-artifacts.", dir="/var/tmp")
    try:
        big = os.path.join(work, "big")
        os.makedirs(big)
        make_big(os.path.join(big, "weights.bin"), big_mib)
        small_root = os.path.join(work, "small")
        make_small(small_root, small)
        time.sleep(0.05)  # older than a clock tick: the stat index may record them
        sha_peer = sha256sum_mbs(os.path.join(big, "weights.bin"), big_mib << 20)
        rows = [("%d MiB file" % big_mib, bench_tree(aero_init, work, "big", big)),
                ("%d small files" % small, bench_tree(aero_init, work, "small", small_root))]
    finally:
        subprocess.run(["chmod", "-R", "u+w", work])
        shutil.rmtree(work, ignore_errors=True)

    print("artifacts, file:// store on the same disk, %d CPUs, warm page cache; "
          "wall seconds (CPU seconds)" % os.cpu_count())
    for label, t in rows:
        print(label)
        for op in ("put", "get"):
            print("  %-4s %7.3f (%6.3f)   cp -r %7.3f (%6.3f)  ratio %5.2f (%5.2f)   "
                  "cp -r + sync %7.3f  ratio %5.2f" % (
                      op, t[op][0], t[op][1], t["cp"][0], t["cp"][1], t[op][0] / t["cp"][0],
                      t[op][1] / max(t["cp"][1], 1e-6), t["cp_sync"][0],
                      t[op][0] / t["cp_sync"][0]))
        print("  cached get %.4f (%.4f) = %.2f%% of a fresh get's wall time%s" % (
            t["cached"][0], t["cached"][1], 100 * t["cached"][0] / t["get"][0],
            " (target < 1%)" if label.endswith("file") else ""))
    print("SHA-256 per CPU second: aero-init %d MB/s, sha256sum %.0f MB/s (ratio %.2f)" % (
        rows[0][1]["hash_mbs"], sha_peer, rows[0][1]["hash_mbs"] / sha_peer))


if __name__ == "__main__":
    main()
