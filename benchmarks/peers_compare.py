"""tastemap's tuned families beside the best tuned peer of each (docs/quality.md).

Reads a finished workflow run with the validation search on (``results/<dataset>``: every seed's
``per_user.parquet`` and each family's ``search/.../chosen.json``) and the JSON that
``benchmarks/peers.py`` wrote for the same split files, and prints one Markdown row per shared
family: tastemap's test nDCG@10 and recall@10 (mean over the seeds; 95% bootstrap CI over users
of each user's seed-averaged nDCG@10, ``tastemap.evaluate.stats.bootstrap_ci``, 1,000 resamples, seed 0
- the peers' CI is computed the same way), its chosen values, and the time of one fit on the
train split plus the top 10 for every user with the chosen values (refit here, one thread, as
``peers.py`` times the peers); the same for the best peer; and the verdict: tastemap at or above
the peer, within the peer's CI, or below it.

Usage::

    python benchmarks/peers_compare.py --results /work/data/q24/ml100k/results/ml-100k \\
        --peers /work/peers/ml100k.json --entity artist --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from tastemap.core import layout as L  # noqa: E402
from tastemap.data.matrices import load_matrix  # noqa: E402
from tastemap.evaluate import stats  # noqa: E402
from tastemap.pipeline.fit import Fit  # noqa: E402
from tastemap.pipeline.search import format_values, read_chosen  # noqa: E402

#: tastemap family -> the name peers.py gives it
SHARED = {"als": "als", "bpr": "bpr", "ease": "ease", "itemknn": "itemknn",
          "userknn": "userknn", "popularity": "pop"}


def per_user(results: Path, entity: str, seeds: list[int], model: str,
             metric: str) -> tuple[pd.Series, str]:
    """Each user's ``metric`` averaged over the seeds, and the variant it came from."""
    values, variant = [], None
    for seed in seeds:
        table = pd.read_parquet(results / L.path(L.PER_USER, entity=entity, seed=seed))
        rows = table[(table["model"] == model) & (table["metric"] == metric)]
        variant = str(rows["variant"].iloc[0])
        values.append(rows.set_index("user_idx")["value"].rename(seed))
    return pd.concat(values, axis=1).mean(axis=1), variant


def timed_fit(results: Path, entity: str, seed: int, model: str,
              params: dict) -> tuple[float, float]:
    """Seconds of one fit on the seed's train split and of the top 10 for every user."""
    train = load_matrix(results / L.path(L.TRAIN, entity=entity, seed=seed))
    fitted = Fit(model, params, seed).build()
    start = time.perf_counter()
    fitted.fit(train)
    mid = time.perf_counter()
    fitted.recommend(np.flatnonzero(np.diff(train.indptr)), 10)
    return mid - start, time.perf_counter() - mid


def tastemap_row(results: Path, entity: str, seeds: list[int], model: str) -> dict:
    ndcg, variant = per_user(results, entity, seeds, model, "ndcg@10")
    recall, _ = per_user(results, entity, seeds, model, "recall@10")
    mean, low, high = stats.bootstrap_ci(ndcg.to_numpy(), 1000, 0.95, 0)
    values, fit_s, rec_s = [], [], []
    for seed in seeds:
        path = results / L.path(L.SEARCH_CHOSEN, entity=entity, model=model, seed=seed)
        if path.exists():
            record = read_chosen(path)
            params = record["params"]
            values.append(f"s{seed}: {format_values(record['searched'])}")
        else:
            params = {}
            values.append(f"s{seed}: {variant} (as configured)")
        fit, rec = timed_fit(results, entity, seed, model, params)
        fit_s.append(fit)
        rec_s.append(rec)
    return {"ndcg": float(mean), "low": float(low), "high": float(high),
            "recall": float(recall.mean()), "values": "<br>".join(values),
            "fit_s": float(np.mean(fit_s)), "rec_s": float(np.mean(rec_s))}


def best_peer(summary: list[dict], family: str) -> dict | None:
    rows = [r for r in summary if r["family"] == family and r.get("test_ndcg") is not None]
    return max(rows, key=lambda r: r["test_ndcg"]) if rows else None


def verdict(ours: dict, peer: dict) -> str:
    if ours["ndcg"] >= peer["test_ndcg"]:
        return "at or above"
    if ours["ndcg"] >= peer["ci_low"]:
        return "within the peer's CI"
    return "**below**"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, required=True)
    ap.add_argument("--peers", type=Path, required=True)
    ap.add_argument("--entity", default="artist")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    peers = json.loads(args.peers.read_text())
    head = ["family", "tastemap chosen values", "tastemap nDCG@10 [95% CI]", "recall@10",
            "fit s", "top-10 s", "best tuned peer", "peer nDCG@10 [95% CI]", "recall@10",
            "fit s", "top-10 s", "tastemap vs peer"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for model, name in SHARED.items():
        ours = tastemap_row(args.results, args.entity, args.seeds, model)
        peer = best_peer(peers["summary"], name)
        cells = [model, ours["values"],
                 f"{ours['ndcg']:.4f} [{ours['low']:.4f}, {ours['high']:.4f}]",
                 f"{ours['recall']:.4f}", f"{ours['fit_s']:.2f}", f"{ours['rec_s']:.2f}"]
        if peer is None:
            cells += ["-"] * 5 + ["no peer"]
        else:
            cells += [f"{peer['library']} {peer['model']}",
                      f"{peer['test_ndcg']:.4f} [{peer['ci_low']:.4f}, {peer['ci_high']:.4f}]",
                      f"{peer['test_recall']:.4f}", f"{peer['fit_s']:.2f}",
                      f"{peer['rec_s']:.2f}", verdict(ours, peer)]
        lines.append("| " + " | ".join(cells) + " |")
    print("\n".join(lines))
    print(f"\nPeers: {peers['command']} ({peers['date']}; "
          + ", ".join(f"{k} {v}" for k, v in peers["versions"].items()) + ")")


if __name__ == "__main__":
    main()
