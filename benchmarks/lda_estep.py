"""LDA fits with scikit-learn's E-step and bound against tastemap's compiled ones (tastemap.topics.estep).

Fits batch variational LDA (10 passes, the topics stage's settings, ``log`` counts) on a users x
items matrix of a finished run, once with ``sklearn.decomposition.LatentDirichletAllocation`` and
once with ``tastemap.topics.estep.CompiledLDA``, for each ``k``; then folds every user in
(``transform``). Prints the CPU seconds of each, the inner E-step iterations scikit-learn ran
(per document and pass) and how far the compiled fit is from scikit-learn's (largest relative
difference of ``components_``, largest absolute difference of the user mixtures). The compiled
code is loaded (or compiled) before timing, as a warm ``NUMBA_CACHE_DIR`` does in the workflow::

    OPENBLAS_NUM_THREADS=1 python benchmarks/lda_estep.py results/synthetic/matrices/user_artist.npz
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import sklearn.decomposition._lda as sklearn_lda
from sklearn.decomposition import LatentDirichletAllocation

from tastemap.data.matrices import load_matrix
from tastemap.topics.estep import CompiledLDA
from tastemap.topics.model import transform_counts


def count_inner_iterations(X, k: int, seed: int) -> int:
    """Inner E-step iterations (documents x passes until converged) of scikit-learn's fit."""
    count = 0
    mean_change = sklearn_lda.cy_mean_change

    class Counting(dict):
        def __getitem__(self, ctype):
            def counted(a, b):
                nonlocal count
                count += 1
                return mean_change[ctype](a, b)
            return counted

    sklearn_lda.cy_mean_change = Counting()
    try:
        LatentDirichletAllocation(n_components=k, learning_method="batch", max_iter=10, n_jobs=1,
                                  random_state=seed).fit(X)
    finally:
        sklearn_lda.cy_mean_change = mean_change
    return count


def fit(cls, X, k: int, seed: int):
    start = time.process_time()
    lda = cls(n_components=k, learning_method="batch", max_iter=10, n_jobs=1,
              random_state=seed).fit(X)
    theta = lda.transform(X)
    return time.process_time() - start, lda, theta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("matrix", help="a users x items .npz of a run (results/<name>/matrices/...)")
    ap.add_argument("--k", default="4,8,16,32")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    X = transform_counts(load_matrix(args.matrix), "log")
    print(f"{args.matrix}: {X.shape[0]} users x {X.shape[1]} items, {X.nnz} entries")
    start = time.process_time()
    CompiledLDA(n_components=2, learning_method="batch", max_iter=1).fit(X[:20])
    print(f"compiled code loaded (or compiled) in {time.process_time() - start:.2f} CPU-s")
    print("| k | inner iterations per user and pass | scikit-learn CPU-s | compiled CPU-s "
          "| max rel. diff components | max abs. diff user mixtures |")
    print("|---:|---:|---:|---:|---:|---:|")
    for k in (int(v) for v in args.k.split(",")):
        inner = count_inner_iterations(X, k, args.seed)
        cpu_s, theirs, theta_s = fit(LatentDirichletAllocation, X, k, args.seed)
        cpu_c, ours, theta_c = fit(CompiledLDA, X, k, args.seed)
        rel = np.max(np.abs(ours.components_ - theirs.components_) / theirs.components_)
        # passes + the final E-step of fit (bound) per document
        per_doc = inner / X.shape[0] / (theirs.n_iter_ + 1)
        print(f"| {k} | {per_doc:.1f} | {cpu_s:.2f} | {cpu_c:.2f} | {rel:.1e} "
              f"| {np.max(np.abs(theta_c - theta_s)):.1e} |")


if __name__ == "__main__":
    main()
