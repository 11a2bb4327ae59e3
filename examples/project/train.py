#!/usr/bin/env python3
"""The example project's experiment: fit y = 3x + 2 by gradient descent and
report to aero-init through the aeromancy client. Standard library only.

    docker build -t example examples/project
    docker run --rm example                       # aero-init is the entry point
    docker run --rm example python3 train.py --epochs 50 --lr 0.1
"""
import argparse
import os
import random

import aeromancy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=0.2)
    args = parser.parse_args()

    # aero-init exports a base seed and seeds derived from it; use it, and the
    # run can be repeated exactly.
    seed = int(os.environ.get("AERO_SEED", "0")) % 2**32
    rng = random.Random(seed)
    xs = [rng.uniform(-1, 1) for _ in range(256)]
    ys = [3 * x + 2 + rng.gauss(0, 0.05) for x in xs]

    aeromancy.config({"epochs": args.epochs, "lr": args.lr, "samples": len(xs)})
    w = b = 0.0
    loss = float("inf")
    for epoch in range(1, args.epochs + 1):
        errors = [w * x + b - y for x, y in zip(xs, ys)]
        loss = sum(e * e for e in errors) / len(xs)
        w -= args.lr * 2 * sum(e * x for e, x in zip(errors, xs)) / len(xs)
        b -= args.lr * 2 * sum(errors) / len(xs)
        aeromancy.log({"loss": loss, "w": w, "b": b}, step=epoch)
        print("epoch %3d  loss %.6f" % (epoch, loss), flush=True)
    aeromancy.summary({"final_loss": loss, "w": w, "b": b})


if __name__ == "__main__":
    main()
