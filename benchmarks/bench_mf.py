"""Time biased-MF (tastemap.models.mf) epochs at Last.fm-360K scale.

Prints wall and CPU time: on a shared machine the CPU time is the stable figure.

Builds a random heavy-tailed users x items play-count CSR (default 358K x 292K, ~17.5M stored
entries: Zipf-like item popularity, log-normal user activity, geometric play counts), fits
``BiasedMF`` for a few epochs and prints seconds per epoch. Nothing is written to disk.

    .venv/bin/python benchmarks/bench_mf.py --epochs 2 --threads 2
"""
from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import scipy.sparse as sp


def heavy_tailed_csr(n_users: int, n_items: int, nnz: int, seed: int = 0) -> sp.csr_matrix:
    """Random users x items play counts with ~``nnz`` stored entries (duplicates merged)."""
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.0, n_users)
    deg = np.maximum(1, np.round(activity / activity.sum() * nnz)).astype(np.int64)
    rows = np.repeat(np.arange(n_users, dtype=np.int32), deg)
    pop = 1.0 / (np.arange(n_items) + 10.0) ** 0.9
    cols = rng.choice(n_items, size=len(rows), p=pop / pop.sum()).astype(np.int32)
    plays = rng.geometric(0.05, size=len(rows)).astype(np.float32)
    m = sp.csr_matrix((plays, (rows, cols)), shape=(n_users, n_items))
    m.sum_duplicates()
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=358_000)
    ap.add_argument("--items", type=int, default=292_000)
    ap.add_argument("--nnz", type=int, default=17_500_000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--factors", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=65536)
    ap.add_argument("--negatives", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    from tastemap.models.mf import BiasedMF

    t = time.perf_counter()
    X = heavy_tailed_csr(args.users, args.items, args.nnz)
    print(f"matrix {X.shape[0]} x {X.shape[1]}, nnz {X.nnz:,} built in {time.perf_counter() - t:.1f} s")
    model = BiasedMF(factors=args.factors, epochs=args.epochs, batch_size=args.batch_size,
                     negatives=args.negatives, num_threads=args.threads, random_state=0)
    t, c = time.perf_counter(), time.process_time()
    model.fit(X)
    fit_s, cpu_s = time.perf_counter() - t, time.process_time() - c
    print(f"fit: {args.epochs} epochs in {fit_s:.1f} s wall, {cpu_s:.1f} s CPU "
          f"({cpu_s / args.epochs:.1f} CPU-s/epoch; wall depends on the machine's load) -> "
          f"{fit_s / args.epochs:.1f} s/epoch "
          f"({args.epochs / fit_s:.3f} epochs/s), factors {args.factors}, batch {args.batch_size}, "
          f"negatives {args.negatives}, threads {args.threads}")
    for row in model.history_:
        print(row)


if __name__ == "__main__":
    main()
