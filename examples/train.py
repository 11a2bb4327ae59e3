#!/usr/bin/env python3
"""A small, deterministic example experiment: fit y = 3x + 2 by gradient
descent, with the gradient computed by two worker processes (as data loaders
or torchrun ranks would be). Standard library only.

On SIGTERM or SIGINT it writes a checkpoint and exits cleanly, which aero-init
makes possible for the workers too: they get SIGTERM and a grace period.

    aero-init -- python3 examples/train.py [--epochs N] [--out DIR]
"""
import argparse
import json
import multiprocessing
import os
import random
import signal
import sys

stopping = False


def on_stop(signum, _frame):
    global stopping
    stopping = True
    print("train: got %s, checkpointing" % signal.Signals(signum).name, file=sys.stderr)


def make_data(seed, n=512):
    rng = random.Random(seed)
    xs = [rng.uniform(-1, 1) for _ in range(n)]
    return [(x, 3.0 * x + 2.0 + rng.gauss(0, 0.05)) for x in xs]


def gradient(args):
    (w, b), shard = args
    gw = gb = loss = 0.0
    for x, y in shard:
        err = w * x + b - y
        gw += 2 * err * x
        gb += 2 * err
        loss += err * err
    return gw, gb, loss


def worker_init():
    # aero-init signals the whole process group; workers leave the stopping to
    # the main process, which finishes the epoch, checkpoints and closes the pool.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("AERO_SEED", "0")))
    parser.add_argument("--out", default="runs/example")
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    data = make_data(args.seed)
    shards = [data[i::2] for i in range(2)]
    w = b = 0.0
    epoch = 0
    pool = multiprocessing.get_context("fork").Pool(2, initializer=worker_init)
    try:
        for epoch in range(1, args.epochs + 1):
            if stopping:
                break
            parts = pool.map(gradient, [((w, b), shard) for shard in shards])
            gw = sum(p[0] for p in parts) / len(data)
            gb = sum(p[1] for p in parts) / len(data)
            loss = sum(p[2] for p in parts) / len(data)
            w -= args.lr * gw
            b -= args.lr * gb
            if epoch % 20 == 0 or epoch == 1:
                print("epoch %4d  loss %.6f  w %.4f  b %.4f" % (epoch, loss, w, b), flush=True)
    finally:
        pool.close()
        pool.join()

    os.makedirs(args.out, exist_ok=True)
    result = {"epoch": epoch - 1 if stopping else epoch, "w": w, "b": b, "seed": args.seed, "complete": not stopping}
    path = os.path.join(args.out, "checkpoint.json" if stopping else "model.json")
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
    os.replace(path + ".tmp", path)
    print("train: wrote %s" % path)


if __name__ == "__main__":
    main()
