"""EASE's fit at scale: wall time, CPU time and peak memory, one fit per fresh process.

``tastemap.models.ease.EASE.fit`` inverts the Gram matrix by a Cholesky factorisation in place
(``spd_inverse``); ``--reference`` fits the same data with the general inverse it replaced
(``np.linalg.inv`` on a float64 copy, then ``P / -diag(P)`` into a new matrix), to show the
difference. The data: a seeded random users x items matrix with a popularity-shaped item
distribution (a Zipf-like law, every item with at least one user), ``--density`` of its cells
stored. BLAS on one thread, as the workflow's fit jobs on small data (``threads_for``).

Usage::

    python benchmarks/ease_fit.py --users 100000 --items 20000 --density 0.002
    python benchmarks/ease_fit.py --users 100000 --items 20000 --density 0.002 --reference

Prints one line: the variant, the sizes, wall s, CPU s and the peak RSS of the fitting process
(``resource.getrusage``), and the largest difference between the two variants' weights when
``--compare`` is given (small sizes only: both are kept in memory).
"""
from __future__ import annotations

import argparse
import os
import resource
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402


def matrix(users: int, items: int, density: float, seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    nnz = int(users * items * density)
    weight = 1.0 / np.arange(1, items + 1) ** 0.8
    cols = rng.choice(items, size=nnz, p=weight / weight.sum())
    cols[:items] = np.arange(items)  # every item has a user
    rows = rng.integers(0, users, size=nnz)
    X = sp.csr_matrix((np.ones(nnz, dtype=np.float32), (rows, cols)), shape=(users, items))
    X.sum_duplicates()
    X.data[:] = 1.0
    return X


def reference_fit(X: sp.csr_matrix, l2: float) -> np.ndarray:
    """The fit before the Cholesky inverse (binary weighting): LU inverse, new matrices."""
    G = (X.T @ X).toarray().astype(np.float64)
    G[np.diag_indices(G.shape[0])] += l2
    P = np.linalg.inv(G)
    B = P / (-np.diag(P))[None, :]
    B[np.diag_indices(G.shape[0])] = 0.0
    return B.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=20_000)
    ap.add_argument("--density", type=float, default=0.002)
    ap.add_argument("--l2", type=float, default=500.0)
    ap.add_argument("--reference", action="store_true", help="the LU-inverse fit it replaced")
    ap.add_argument("--compare", action="store_true", help="fit both, print the max difference")
    args = ap.parse_args()
    X = matrix(args.users, args.items, args.density)
    from tastemap.models.ease import EASE

    wall, cpu = time.perf_counter(), time.process_time()
    if args.reference:
        B = reference_fit(X, args.l2)
    else:
        B = EASE(l2=args.l2, weighting="binary", max_items=max(20_000, args.items)).fit(X).B_
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    name = "reference (np.linalg.inv)" if args.reference else "tastemap (Cholesky, in place)"
    print(f"{name}: {args.users} users x {args.items} items, {X.nnz} entries: "
          f"wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {peak:.2f} GiB")
    if args.compare:
        other = reference_fit(X, args.l2) if not args.reference else EASE(
            l2=args.l2, weighting="binary", max_items=max(20_000, args.items)).fit(X).B_
        print(f"largest |difference| of the weights: {np.abs(B - other).max():.3g} "
              f"(largest |weight| {np.abs(B).max():.3g})")


if __name__ == "__main__":
    main()
