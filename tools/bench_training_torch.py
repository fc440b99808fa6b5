#!/usr/bin/env python3
"""Training throughput of merd's recipe in torch (tools/make_fusion_fixtures.py's
`train_reference`: the paper's network at d=128, hidden=256, Adam, batch 32, the
uncertainty-weighted loss, k folds one after another, each epoch scored on its fold), for
Benchmarks/training to set merd against in the same run.

  bench_training_torch.py --features F.safetensors --labels F.csv [--structures 1,2,3]
                          [--epochs 5] [--folds 5] [--threads 2]
  bench_training_torch.py --make-paper-size PREFIX [--clips 3373]
      writes PREFIX.safetensors and PREFIX.csv: random features at the paper's widths (HL18,
      HL19, HL20 1024; RF 2048; MR 512), labels and valence at random (timing only; never
      commit them)

Prints, per structure, `torch training structure S: N clips/s (T s)`, where N counts every
training clip of every fold and epoch (n · (folds − 1) / folds · folds · epochs).
"""
import argparse
import csv
import pathlib
import sys
import time

import numpy as np
import torch
from safetensors.numpy import load_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import make_fusion_fixtures as recipe  # noqa: E402


def make_paper_size(prefix, n):
    from safetensors.numpy import save_file
    rng = np.random.default_rng(3)
    widths = {"HL18": 1024, "HL19": 1024, "HL20": 1024, "MR": 512, "RF": 2048}
    save_file({k: rng.standard_normal((n, w), dtype=np.float32) for k, w in widths.items()}, prefix + ".safetensors")
    labels = rng.integers(0, len(recipe.LABELS), n)
    with open(prefix + ".csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "discrete", "valence"])
        for i, label in enumerate(labels):
            w.writerow([f"clip{i:04d}", recipe.LABELS[label], f"{rng.uniform(-5, 5):.3f}"])
    print(f"wrote {prefix}.safetensors and {prefix}.csv: {n} clips, widths {widths}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--features")
    parser.add_argument("--labels")
    parser.add_argument("--structures", default="1,2,3")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--make-paper-size")
    parser.add_argument("--clips", type=int, default=3373)
    args = parser.parse_args()
    if args.make_paper_size:
        make_paper_size(args.make_paper_size, args.clips)
        return
    if not args.features or not args.labels:
        parser.error("--features and --labels are required (or --make-paper-size)")
    torch.set_num_threads(args.threads)
    features = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sorted(load_file(args.features).items())}
    with open(args.labels, newline="") as f:
        rows = list(csv.DictReader(f))
    labels = np.array([recipe.LABELS.index(r["discrete"]) for r in rows], dtype=np.int64)
    valence = np.array([float(r["valence"]) for r in rows], dtype=np.float32)
    n = len(labels)
    print(f"torch {torch.__version__}, {args.threads} threads; {n} clips, inputs {list(features)}; "
          f"{args.folds} folds × {args.epochs} epochs")
    for structure in [int(s) for s in args.structures.split(",")]:
        start = time.perf_counter()
        recipe.train_reference(features, labels, valence, structure, "jdev", epochs=args.epochs, folds=args.folds)
        elapsed = time.perf_counter() - start
        clips = n * (args.folds - 1) * args.epochs
        print(f"torch training structure {structure}: {clips / elapsed:.0f} clips/s ({elapsed:.1f} s)")


if __name__ == "__main__":
    main()
