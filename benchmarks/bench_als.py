"""ALS at Last.fm-360K scale: tastemap's wrapper against implicit called directly, and batch
top-10 recommendation for every user (``tastemap.models.base.top_k_dot``) against implicit's own
batched ``recommend``.

The matrix is random but shaped like Last.fm-360K: 358,868 users x 292,385 artists, ~17.5M
stored (user, artist) pairs, lognormal user activity, Zipf artist popularity, Pareto play counts.

    .venv/bin/python benchmarks/bench_als.py --iterations 2 --threads 2 --rec-users 20000

Fitting time is linear in the iterations and implicit's recommendation time in the users, so the
script runs few of each and extrapolates (printed separately from what was measured); tastemap's
recommendation is measured for every user.
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the workflow: implicit wants 1 BLAS thread

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402


def heavy_tailed_matrix(n_users: int, n_items: int, nnz: int, seed: int = 0) -> sp.csr_matrix:
    """Random users x items play counts with Last.fm-like marginals (duplicates summed)."""
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(mean=0.0, sigma=0.8, size=n_users)
    per_user = np.maximum(1, np.round(activity / activity.sum() * nnz)).astype(np.int64)
    rows = np.repeat(np.arange(n_users, dtype=np.int32), per_user)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.9
    cdf = np.cumsum(popularity / popularity.sum())
    cols = np.searchsorted(cdf, rng.random(len(rows))).astype(np.int32)
    cols = rng.permutation(n_items).astype(np.int32)[np.minimum(cols, n_items - 1)]
    plays = np.ceil(rng.pareto(1.1, size=len(rows)) * 20 + 1).astype(np.float32)
    X = sp.csr_matrix((plays, (rows, cols)), shape=(n_users, n_items))
    X.sum_duplicates()
    X.sort_indices()
    return X


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=358_868)
    ap.add_argument("--items", type=int, default=292_385)
    ap.add_argument("--nnz", type=int, default=17_535_655)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=2, help="ALS iterations timed (full runs use 15)")
    ap.add_argument("--full-iterations", type=int, default=15, help="iterations to extrapolate to")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeats", type=int, default=2, help="alternating repeats of each fit (min is kept)")
    ap.add_argument("--rec-users", type=int, default=20_000,
                    help="users timed for implicit's recommend (extrapolated; tastemap's runs for all)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args()

    from implicit.cpu.als import AlternatingLeastSquares

    from tastemap.models.als import ALS

    t_gen, X = timed(lambda: heavy_tailed_matrix(args.users, args.items, args.nnz))
    print(f"matrix {X.shape[0]} x {X.shape[1]}, {X.nnz} stored, built in {t_gen:.1f} s", flush=True)

    params = dict(factors=args.factors, regularization=10.0, iterations=args.iterations)
    ours_model = ALS(**params, confidence="log", alpha=1.0, track_loss=False, random_state=0)
    ours_model.num_threads = args.threads
    C = ours_model.transform(X)  # implicit gets the same confidences, computed beforehand

    def direct():
        m = AlternatingLeastSquares(**params, alpha=1.0, calculate_training_loss=False,
                                    num_threads=args.threads, random_state=0)
        m.fit(C, show_progress=False)
        return m

    def ours():
        m = ALS(**params, confidence="log", alpha=1.0, track_loss=False, random_state=0)
        m.num_threads = args.threads
        return m.fit(X)

    t_direct, t_ours = [], []
    for r in range(args.repeats):
        t, direct_model = timed(direct)
        t_direct.append(t)
        t, ours_model = timed(ours)
        t_ours.append(t)
        print(f"repeat {r}: implicit {t_direct[-1]:.1f} s, tastemap {t_ours[-1]:.1f} s", flush=True)
    np.testing.assert_allclose(direct_model.item_factors, ours_model.item_factors, rtol=1e-4, atol=1e-5)
    t_transform, _ = timed(lambda: ours_model.transform(X))

    rng = np.random.default_rng(1)
    users = np.sort(rng.choice(X.shape[0], size=min(args.rec_users, X.shape[0]), replace=False))
    t_all, (ids_all, _) = timed(lambda: ours_model.recommend(k=10))
    print(f"tastemap recommend: {t_all:.1f} s for all {X.shape[0]} users (measured)", flush=True)
    ids = ids_all[users]
    direct_model.num_threads = args.threads
    t_impl, (ids_impl, _) = timed(lambda: direct_model.recommend(users, C[users], N=10))
    print(f"implicit recommend: {t_impl:.1f} s for {len(users)} users", flush=True)
    agree = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, ids_impl)]))

    scale_users = X.shape[0] / len(users)
    scale_iter = args.full_iterations / args.iterations
    result = {
        "matrix": {"users": X.shape[0], "items": X.shape[1], "nnz": int(X.nnz)},
        "threads": args.threads, "factors": args.factors, "iterations_timed": args.iterations,
        "fit_seconds_implicit": min(t_direct), "fit_seconds_tastemap": min(t_ours),
        "fit_ratio": min(t_ours) / min(t_direct),
        "confidence_transform_seconds": t_transform,
        "fit_seconds_per_iteration_implicit": min(t_direct) / args.iterations,
        "fit_seconds_extrapolated_full_iterations_tastemap": min(t_ours) * scale_iter,
        "recommend_all_users_seconds_tastemap": t_all,
        "recommend_users_timed_implicit": len(users), "recommend_seconds_implicit": t_impl,
        "recommend_all_users_extrapolated_implicit": t_impl * scale_users,
        "top10_overlap_with_implicit": agree,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
