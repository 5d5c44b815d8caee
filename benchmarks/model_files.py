"""Saving and loading a fitted model at Last.fm-360K size: ``model.npz`` (arrays + JSON, no
pickle; ``tastemap.core.store``).

An ALS model of 358,868 users x 292,385 artists with 64 random factors (a fit would take an
hour; file size and load time depend only on the arrays), and a Last.fm-360K-shaped random play
matrix (~17.5M entries, ``bench_als.heavy_tailed_matrix``) as its training matrix. Measures
``save``, ``load`` without the matrix (factors, similar items, fold-in) and ``load(path,
train=matrix)`` (the fingerprint check that lets ``recommend`` exclude played items), each a
few times with the file in the page cache; prints JSON.

    .venv/bin/python benchmarks/model_files.py --out /work/data/als360k.npz
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from bench_als import heavy_tailed_matrix  # benchmarks/ is on sys.path when run as a script


def timed(fn, repeat: int) -> tuple[object, dict]:
    """Result of the last call, and the best wall / CPU seconds of ``repeat`` calls."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return out, {"wall_s": round(min(walls), 3), "cpu_s": round(min(cpus), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/work/data/als360k.npz")
    ap.add_argument("--users", type=int, default=358_868)
    ap.add_argument("--items", type=int, default=292_385)
    ap.add_argument("--nnz", type=int, default=17_559_530)
    ap.add_argument("--factors", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from tastemap.models.als import ALS
    from tastemap.models.base import Recommender

    X = heavy_tailed_matrix(args.users, args.items, args.nnz)
    rng = np.random.default_rng(0)
    model = ALS(factors=args.factors)
    model._set_train(X)
    model.user_factors_ = rng.standard_normal((args.users, args.factors), dtype=np.float32)
    model.item_factors_ = rng.standard_normal((args.items, args.factors), dtype=np.float32)
    model.history_ = []
    _, save = timed(lambda: model.save(args.out), args.repeat)
    _, load = timed(lambda: Recommender.load(args.out), args.repeat)
    back, attach = timed(lambda: Recommender.load(args.out, train=X), args.repeat)
    assert np.array_equal(back.item_factors, model.item_factors)
    ids, _ = back.recommend(np.arange(3), k=10)
    print(json.dumps({
        "shape": [args.users, args.items], "factors": args.factors, "train_nnz": int(X.nnz),
        "file_mib": round(os.path.getsize(args.out) / 2**20, 1),
        "save": save, "load": load, "load_with_train": attach,
    }, indent=2))


if __name__ == "__main__":
    main()
