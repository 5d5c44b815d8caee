"""Time and size the explore projections at Last.fm-1K scale (issue 3).

Builds a random users x artists play-count matrix with Last.fm-1K's shape (about 1,000 users,
100K+ artists, heavy-tailed artist popularity and user activity, planted genres), then runs the
SVD representation and every projection (pca, umap, tsne) of both sides (users, items), each in
its own process so that its peak RSS is its own, exactly as the workflow scripts call them.

Usage::

    python benchmarks/explore_scale.py /tmp/explore_bench --users 1000 --artists 120000
    python benchmarks/explore_scale.py /tmp/explore_bench --only items:umap   # one job

Prints one JSON line per job: side, method, points, features, wall seconds, CPU seconds (user +
system: meaningful on a shared, loaded machine), peak RSS (MiB). Uses the workflow's numba cache
(``NUMBA_CACHE_DIR``, as ``common.smk`` sets it) so UMAP is not recompiled per job.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp


def heavy_tailed_matrix(n_users: int, n_artists: int, mean_artists: int, n_genres: int,
                        seed: int) -> sp.csr_matrix:
    """users x artists play counts: Zipf-like artist popularity inside each genre, log-normal
    user breadth (distinct artists), Pareto play counts; 80% of a user's artists from one genre."""
    rng = np.random.default_rng(seed)
    genre = rng.integers(0, n_genres, n_artists)
    pop = 1.0 / (1.0 + rng.permutation(n_artists)) ** 0.9
    breadth = np.clip(rng.lognormal(np.log(mean_artists) - 0.5, 1.0, n_users), 5, n_artists // 4)
    by_genre = [np.flatnonzero(genre == g) for g in range(n_genres)]
    p_all = pop / pop.sum()
    p_genre = [pop[idx] / pop[idx].sum() for idx in by_genre]
    rows, cols = [], []
    for u in range(n_users):
        n = int(breadth[u])
        g = rng.integers(n_genres)
        own = rng.choice(by_genre[g], size=int(0.8 * n), p=p_genre[g])
        other = rng.choice(n_artists, size=n - len(own), p=p_all)
        items = np.unique(np.concatenate([own, other]))
        rows.append(np.full(len(items), u))
        cols.append(items)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    plays = np.ceil(rng.pareto(1.2, len(rows)) * 3).astype(np.float32) + 1
    return sp.csr_matrix((plays, (rows, cols)), shape=(n_users, n_artists), dtype=np.float32)


def run_one(matrix_path: Path, side: str, method: str, seed: int) -> dict:
    """One job as the workflow runs it: orient, SVD (for tsne/umap), project."""
    from tastemap import explore as ex

    rows = ex.orient(sp.load_npz(matrix_path), side)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    if method == "svd":
        ex.fit_svd(rows, 50, seed)
    else:
        svd = ex.fit_svd(rows, 50, seed)[0] if method in ("tsne", "umap") else None
        ex.project(rows, method, seed, svd=svd, n_jobs=2)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    return {"side": side, "method": method, "points": rows.shape[0], "features": rows.shape[1],
            "nnz": int(rows.nnz), "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
            "peak_rss_mib": round(usage.ru_maxrss / 1024)}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault(
        "NUMBA_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "tastemap", "numba"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--artists", type=int, default=120_000)
    ap.add_argument("--mean-artists", type=int, default=900)
    ap.add_argument("--genres", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=None, help="side:method, run in this process")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"user_artist_{args.users}x{args.artists}.npz"
    if args.only:
        side, method = args.only.split(":")
        print(json.dumps(run_one(path, side, method, args.seed)), flush=True)
        return 0
    if not path.exists():
        m = heavy_tailed_matrix(args.users, args.artists, args.mean_artists, args.genres, args.seed)
        sp.save_npz(path, m)
        print(json.dumps({"matrix": list(m.shape), "nnz": int(m.nnz),
                          "artists_played": int((m.getnnz(axis=0) > 0).sum())}), flush=True)
    for side in ("users", "items"):
        for method in ("svd", "pca", "umap", "tsne"):
            cmd = [sys.executable, __file__, str(args.workdir), "--users", str(args.users),
                   "--artists", str(args.artists), "--seed", str(args.seed),
                   "--only", f"{side}:{method}"]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            out = proc.stdout.strip().splitlines()
            print(out[-1] if proc.returncode == 0 and out else
                  json.dumps({"side": side, "method": method, "error": proc.stderr[-2000:]}),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
