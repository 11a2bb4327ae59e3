#!/usr/bin/env python3
"""bench/metrics: records per second through aero-init's metric channel into
the local sink, from 1 and from 8 concurrent writers, against the physical
limit measured in the same run: the same bytes copied into a file by `cat`.

The writers are bench/metrics_writer (C, so that the client is not what is
measured): each pipelines, sending pre-built records while it reads the
answers in bulk, as a busy experiment's logging thread would. A writer's rate
is records over the time from its first connection to the last answer (every
record on disk, as acknowledged); "whole run" also counts aero-init's start,
the experiment's exec and the final fsync of metrics.jsonl. aero-init's peak
RSS is its VmHWM, read by the writer from /proc at the end.

The machine's load drifts, so the subjects run in turn for several rounds,
each of a fresh run directory, and the table shows medians; of_limit is the
median of each round's ratio to that round's cat.
Target (issue 4): one writer at least a third of cat's rate; RSS under 16 MiB.

The record is the same each time, as a training loop's are but for their
numbers; aero-init checks a record of the same layout as the last in one
pass (doc/channel.md). So that this is not all the benchmark sees, a third
subject sends records whose numbers, and their lengths, change every time
(17 significant digits, the epoch counting up), against cat copying those
bytes.

Usage: bench/metrics.py AERO_INIT [RECORDS] [--writer PATH] [--rounds N]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

# The record bench/metrics_writer sends, newline included.
LINE = b'{"type":"log","data":{"loss":0.123456789,"accuracy":0.987654321,"lr":0.0003,"epoch":7}}\n'


def through_aero_init(aero_init, writer, n, writers, vary=False):
    """(records per second as the writers saw it, over the whole run, peak RSS KiB)."""
    with tempfile.TemporaryDirectory() as run_dir:
        began = time.perf_counter()
        r = subprocess.run([aero_init, "--no-capture", "-s", "1", "--run-dir", run_dir, "--",
                            writer] + (["--vary"] if vary else []) +
                           [str(n // writers), str(writers)],
                           capture_output=True, text=True)
        whole = time.perf_counter() - began
        if r.returncode != 0:
            sys.exit("bench/metrics: the writers failed: " + r.stderr)
        seconds, rss = r.stdout.split()
        with open(os.path.join(run_dir, "metrics.jsonl"), "rb") as f:
            rows = sum(1 for _ in f)
        total = n // writers * writers
        if rows != total:
            sys.exit("bench/metrics: %d rows for %d records" % (rows, total))
        return total / float(seconds), total / whole, int(rss)


def through_cat(source, n):
    with tempfile.TemporaryDirectory() as d:
        with open(source, "rb") as src, open(os.path.join(d, "out"), "wb") as dst:
            began = time.perf_counter()
            subprocess.run(["cat"], stdin=src, stdout=dst, check=True)
            return n / (time.perf_counter() - began)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("aero_init")
    ap.add_argument("records", nargs="?", type=int, default=1000000)
    ap.add_argument("--writer", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                     "bench", "metrics_writer"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    n = args.records
    # (name, writers, changing numbers)
    subjects = [("aero-init, 1 writer", 1, False), ("aero-init, 8 writers", 8, False),
                ("1 writer, changing numbers", 1, True)]
    rates = {name: [] for name, _, _ in subjects}
    whole = {name: [] for name, _, _ in subjects}
    ratios = {name: [] for name, _, _ in subjects}
    rss = {name: 0 for name, _, _ in subjects}
    limits = {False: [], True: []}
    with tempfile.NamedTemporaryFile(prefix="bench-metrics-") as source, \
            tempfile.NamedTemporaryFile(prefix="bench-metrics-vary-") as varied:
        source.write(LINE * n)
        source.flush()
        subprocess.run([args.writer, "--vary", "--print", str(n)], stdout=varied, check=True)
        varied_bytes = os.path.getsize(varied.name)
        for _ in range(args.rounds):
            limit = {False: through_cat(source.name, n), True: through_cat(varied.name, n)}
            for vary in (False, True):
                limits[vary].append(limit[vary])
            for name, writers, vary in subjects:
                rate, whole_rate, peak = through_aero_init(args.aero_init, args.writer, n,
                                                           writers, vary)
                rates[name].append(rate)
                whole[name].append(whole_rate)
                ratios[name].append(rate / limit[vary])
                rss[name] = max(rss[name], peak)
    print("bench/metrics: %d records of %d bytes (changing numbers: %.0f on average), "
          "median of %d rounds" % (n, len(LINE), varied_bytes / n, args.rounds))
    print("%-30s %14s %10s %16s %14s" % ("subject", "records_per_s", "of_limit",
                                          "whole_run_per_s", "peak_rss_kib"))
    for vary in (False, True):
        print("%-30s %14.0f %10s %16s %14s" % (
            "cat into a file (limit)" if not vary else "cat, changing numbers (limit)",
            statistics.median(limits[vary]), "1.000", "-", "-"))
    for name, _, _ in subjects:
        print("%-30s %14.0f %10.3f %16.0f %14d" % (
            name, statistics.median(rates[name]), statistics.median(ratios[name]),
            statistics.median(whole[name]), rss[name]))
    print("rounds, of_limit: " + "; ".join(
        "%s %s" % (name.replace("aero-init, ", ""), " ".join("%.3f" % r for r in ratios[name]))
        for name, _, _ in subjects))
    print("target: 1 writer >= 0.333 of the limit; peak RSS < 16 MiB (16384 KiB)")


if __name__ == "__main__":
    main()
