"""Evaluation of one model at Last.fm-360K scale: per-user metrics of every test user.

Builds random data shaped like Last.fm-360K (358,868 users x 292,385 artists, ~17.5M stored
(user, artist) pairs, 20% held out per user), a recommendation table of top-20 items for ALL
users (7.2M rows, training items excluded, a fraction of the test items planted in the lists so
that metrics are not all zero), then times what the ``evaluate_runs`` job does for each model:

- ``metrics.evaluate_recommendations`` (table -> dense ids, training-item check, hit matrix,
  Precision/Recall/nDCG/MAP/HitRate at k = 10, 20, MRR, novelty, coverage),
- ``metrics.to_long`` (the per_user.parquet layout),

and, separately, the bootstrap CI of ``stats.leaderboard`` for that one model (1000 resamples).

    .venv/bin/python benchmarks/bench_evaluate.py            # full size
    .venv/bin/python benchmarks/bench_evaluate.py --users 50000
"""
from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as in the workflow

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from tastemap.evaluate import metrics, stats  # noqa: E402


def make_data(n_users: int, n_items: int, per_user: int, k: int, seed: int = 0):
    """Random train/test CSR (users x items) and a top-k recommendation table for all users."""
    rng = np.random.default_rng(seed)
    # Zipf-like popularity, log-normal activity (mean ~per_user)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    pop /= pop.sum()
    counts = np.clip(rng.lognormal(np.log(per_user) - 0.32, 0.8, n_users).astype(np.int64), 2, 2000)
    rows = np.repeat(np.arange(n_users, dtype=np.int64), counts)
    cols = rng.choice(n_items, size=len(rows), p=pop)
    keys = np.unique(rows * n_items + cols)
    rows, cols = keys // n_items, keys % n_items
    is_test = rng.random(len(keys)) < 0.2
    plays = rng.geometric(0.05, len(keys)).astype(np.float32)
    shape = (n_users, n_items)
    train = sp.csr_matrix((plays[~is_test], (rows[~is_test], cols[~is_test])), shape=shape)
    test = sp.csr_matrix((plays[is_test], (rows[is_test], cols[is_test])), shape=shape)
    # recommendations: popular items not in train; each test item enters the list w.p. 0.3
    recs = rng.choice(n_items, size=(n_users, 3 * k), p=pop)
    planted_rows = rows[is_test][rng.random(is_test.sum()) < 0.3]
    planted_cols = cols[is_test][: len(planted_rows)]
    slot = rng.integers(0, 3 * k, len(planted_rows))
    recs[planted_rows, slot] = planted_cols
    seen = metrics.in_matrix(recs, train, np.arange(n_users))
    recs = np.where(seen, -1, recs)
    # first k distinct remaining ids per user (duplicates -> -1), best first
    srt = np.sort(recs, axis=1)
    dup = np.zeros_like(recs, dtype=bool)
    dup[:, 1:] = srt[:, 1:] == srt[:, :-1]
    order = np.argsort(recs, axis=1, kind="stable")
    inv = np.empty_like(order)
    np.put_along_axis(inv, order, np.arange(recs.shape[1])[None, :].repeat(n_users, 0), axis=1)
    recs = np.where(np.take_along_axis(dup, inv, axis=1), -1, recs)
    recs = np.take_along_axis(recs, np.argsort(recs < 0, axis=1, kind="stable"), axis=1)[:, :k]
    ok = recs >= 0
    table = pd.DataFrame({
        "user_idx": np.repeat(np.arange(n_users, dtype=np.int32), k).reshape(n_users, k)[ok],
        "rank": np.tile(np.arange(1, k + 1, dtype=np.int16), (n_users, 1))[ok],
        "item_idx": recs[ok].astype(np.int32),
    })
    return train, test, table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=358_868)
    ap.add_argument("--items", type=int, default=292_385)
    ap.add_argument("--per-user", type=int, default=49, help="mean distinct items per user")
    ap.add_argument("--ks", type=int, nargs="+", default=[10, 20])
    ap.add_argument("--bootstrap", type=int, default=1000)
    args = ap.parse_args()

    t0 = time.perf_counter()
    train, test, table = make_data(args.users, args.items, args.per_user, max(args.ks))
    t_make = time.perf_counter() - t0
    print(f"data: {args.users} users x {args.items} items, train nnz {train.nnz}, test nnz "
          f"{test.nnz}, {len(table)} recommendation rows ({t_make:.1f} s to build)", flush=True)

    t0, c0 = time.perf_counter(), time.process_time()
    per_user, catalogue = metrics.evaluate_recommendations(table, train, test, args.ks)
    t_metrics, c_metrics = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    long = metrics.to_long(per_user, entity="artist", seed=0, model="bench", variant="default")
    t_long = time.perf_counter() - t0
    # wall clock and CPU time: on a shared machine the wall clock includes waiting for a core
    print(f"metrics of {len(per_user)} test users: {t_metrics:.1f} s wall, {c_metrics:.1f} s CPU "
          f"(+ {t_long:.1f} s to the long layout, {len(long)} rows)", flush=True)

    t0, c0 = time.perf_counter(), time.process_time()
    long = long.assign(model=long["model"].astype(str), variant=long["variant"].astype(str),
                       metric=long["metric"].astype(str))
    board = stats.leaderboard(long, "ndcg@10", n_resamples=args.bootstrap, seed=0)
    t_boot, c_boot = time.perf_counter() - t0, time.process_time() - c0
    print(f"leaderboard with {args.bootstrap} bootstrap resamples: {t_boot:.1f} s wall, "
          f"{c_boot:.1f} s CPU", flush=True)
    summary = {
        "users": args.users, "items": args.items, "train_nnz": int(train.nnz),
        "test_nnz": int(test.nnz), "test_users": len(per_user), "rec_rows": len(table),
        "seconds_metrics": round(t_metrics, 2), "cpu_seconds_metrics": round(c_metrics, 2),
        "seconds_long": round(t_long, 2), "seconds_leaderboard_bootstrap": round(t_boot, 2),
        "cpu_seconds_leaderboard_bootstrap": round(c_boot, 2),
        "ndcg@10": round(float(per_user["ndcg@10"].mean()), 4), **catalogue,
    }
    print(json.dumps(summary))
    print(board[board["metric"].isin(["ndcg@10", "recall@20"])].to_string(index=False))


if __name__ == "__main__":
    main()
