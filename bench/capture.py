#!/usr/bin/env python3
"""bench/capture: aero-init's capture of a Debian tree against the tools that
list the same things, dpkg-query and pip, on the same tree in one run.

A hard-linked copy of the debootstrapped tree gets a few hundred synthetic
Python distributions (dist-info directories, as pip installs them). Each round
runs every subject once, interleaved; medians, the ratio of the peers' sum to
aero-init, and each subject's peak RSS (from wait4) are printed.
Target: at least 20x faster than dpkg-query and pip together, under 16 MiB.

Usage: bench/capture.py AERO_INIT ROOTFS [ROUNDS]
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

DISTRIBUTIONS = 300


def prepare(rootfs):
    tree = rootfs.rstrip("/") + "-bench"
    marker = os.path.join(tree, ".bench-complete")
    if not os.path.exists(marker):
        shutil.rmtree(tree, ignore_errors=True)
        subprocess.run(["cp", "-al", rootfs, tree], check=True)
        site = os.path.join(tree, "usr/local/lib/python3.11/dist-packages")
        os.makedirs(site, exist_ok=True)
        for i in range(DISTRIBUTIONS):
            info = os.path.join(site, "benchdist_%03d-1.%d.0.dist-info" % (i, i))
            os.makedirs(info)
            with open(os.path.join(info, "METADATA"), "w") as f:
                f.write("Metadata-Version: 2.1\nName: benchdist-%03d\nVersion: 1.%d.0\n"
                        "Summary: synthetic\n\nA long description.\n" % (i, i))
            with open(os.path.join(info, "INSTALLER"), "w") as f:
                f.write("pip\n")
        open(marker, "w").close()
    return tree


def run(argv):
    """Wall time of one run, in seconds."""
    began = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - began
    if result.returncode != 0:
        sys.exit("bench/capture: %s failed" % argv[0])
    return elapsed


def peak_rss_kib(argv):
    """Peak RSS of one run, from GNU time (an upper bound: Linux keeps the
    high-water mark of the small time process across its exec)."""
    result = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, check=True)
    return int(result.stderr.strip().splitlines()[-1])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    aero_init, rootfs = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    tree = prepare(rootfs)
    subjects = {
        "aero-init capture": [aero_init, "capture", "--root", tree],
        "dpkg-query -W": ["dpkg-query", "-W", "--admindir=" + tree + "/var/lib/dpkg"],
        "pip list": ["chroot", tree, "python3", "-m", "pip", "list", "--format=freeze"],
    }
    times = {name: [] for name in subjects}
    rss = {name: peak_rss_kib(argv) for name, argv in subjects.items()}  # warms the cache too
    for _ in range(rounds):
        for name, argv in subjects.items():
            times[name].append(run(argv))
    medians = {name: statistics.median(t) * 1000 for name, t in times.items()}
    print("bench/capture: %d rounds on %s (%d synthetic Python distributions added)"
          % (rounds, tree, DISTRIBUTIONS))
    print("%-20s %12s %14s" % ("subject", "median_ms", "peak_rss_kib"))
    for name in subjects:
        print("%-20s %12.2f %14d" % (name, medians[name], rss[name]))
    peers = medians["dpkg-query -W"] + medians["pip list"]
    ratio = peers / medians["aero-init capture"]
    print("peers together / aero-init capture: %.1fx (target >= 20x); aero-init peak RSS "
          "%.1f MiB (target < 16 MiB)" % (ratio, rss["aero-init capture"] / 1024))


if __name__ == "__main__":
    main()
