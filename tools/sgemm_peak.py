#!/usr/bin/env python3
"""NumPy's float32 GEMM at the shapes of the NeuralKit benchmarks, as an outside reference.

    tools/.venv/bin/python tools/sgemm_peak.py [--threads N]

Prints one line per shape: median GFLOP/s over repeats after a warm-up, the BLAS NumPy uses
(threadpoolctl, when installed, names its kernel), and a float64 check of the result.
"""
import argparse
import os
import statistics
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
        threadpool_limits(args.threads)
        info = [(i.get("internal_api"), i.get("version"), i.get("architecture"), i.get("num_threads")) for i in threadpool_info()]
    except ImportError:
        info = "threadpoolctl not installed"
    print(f"numpy {np.__version__}; BLAS {info}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}")
    rng = np.random.default_rng(0)
    for m, n, k in [(200, 1024, 1024), (200, 4096, 1024), (1024, 1024, 1024)]:
        a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (n, k)).astype(np.float32)
        c = a @ b.T
        exact = a.astype(np.float64) @ b.astype(np.float64).T
        error = float(np.max(np.abs(c - exact)) / np.max(np.abs(exact)))
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            a @ b.T
            times.append(time.perf_counter() - start)
        gflops = 2 * m * n * k / statistics.median(times) / 1e9
        print(f"numpy sgemm ({m},{n},{k}): {gflops:.1f} GFLOP/s (median of {args.repeat}); max error vs float64 {error:.1e}")


if __name__ == "__main__":
    main()
