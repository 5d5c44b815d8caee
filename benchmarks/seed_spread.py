"""The seed spread of one stochastic family at its configured values, on a run's own split.

A published row of a stochastic model (BPR, iALS) is one draw; whether tastemap's mean lands
"within the seed spread" needs the spread of more than the three seeds of a reproduction run.
This fits the family at the values its config section gives (the run's ``default`` variant),
once per seed, on ``split/seed0/train_<entity>.npz`` of a results folder, ranks every unplayed
item and scores recall@k and map@k with ``tastemap.evaluate.metrics`` on ``test_<entity>.npz``. With a
given split (``split.scheme: given``) train and test are the paper's files for every seed.

    python benchmarks/seed_spread.py --results results/repro-ml1m-spectralcf \\
        --configfile config/repro-ml1m-spectralcf.yaml --family bpr --seeds 0 1 2 3 4 5 6 7 8 9 \\
        --out bpr_seeds.csv

Prints one row per seed and the mean, sd, min and max per metric; ``--out`` keeps the rows.
``--pad-items N`` appends empty item columns up to N: a paper's code may count every id up to
the largest as its catalogue (Ferrari Dacrema et al.'s ML-1M files: 3,705 movies, 473 in neither
file), which changes what a uniformly drawn negative is; tastemap's catalogue is the items in
the files.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import yaml  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tastemap import config as C  # noqa: E402
from tastemap.evaluate.metrics import in_matrix, ranking_metrics  # noqa: E402
from tastemap.models import make, registry  # noqa: E402


def configured_params(configfile: Path, family: str) -> dict:
    """The family's hyper-parameters as the config resolves them (schema defaults filled in),
    which must be single values: one variant."""
    config = C.fill_defaults(yaml.safe_load(configfile.read_text()))
    variants = registry.variants(family, config["models"][family])
    if len(variants) != 1:
        raise SystemExit(f"{configfile}: models.{family} sweeps {list(variants)}; give one value each")
    return next(iter(variants.values()))


def score(model, train: sp.csr_matrix, test: sp.csr_matrix, ks: list[int]) -> dict[str, float]:
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    items, _ = model.recommend(users, k=max(ks))
    hits = in_matrix(items, test, users)
    per_user = ranking_metrics(hits, np.diff(test.indptr)[users], ks)
    return {name: float(v.mean()) for name, v in per_user.items()
            if name.split("@")[0] in ("recall", "map")}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", type=Path, required=True)
    ap.add_argument("--configfile", type=Path, required=True)
    ap.add_argument("--family", required=True)
    ap.add_argument("--entity", default="artist")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    ap.add_argument("--ks", type=int, nargs="+", default=[20, 40, 60, 80, 100])
    ap.add_argument("--pad-items", type=int, help="empty item columns up to this many")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)

    params = configured_params(args.configfile, args.family)
    split = args.results / "split" / "seed0"
    train = sp.load_npz(split / f"train_{args.entity}.npz").tocsr()
    test = sp.load_npz(split / f"test_{args.entity}.npz").tocsr()
    if args.pad_items:
        if args.pad_items < train.shape[1]:
            raise SystemExit(f"--pad-items {args.pad_items} < the {train.shape[1]} items of the split")
        shape = (train.shape[0], args.pad_items)
        train, test = (sp.csr_matrix((m.data, m.indices, m.indptr), shape=shape) for m in (train, test))
    print(f"{args.family} {params} on {train.shape[0]} x {train.shape[1]}, {train.nnz} plays")
    rows = []
    for seed in args.seeds:
        start = time.monotonic()
        model = make(args.family, **{**params, "random_state": seed}).fit(train)
        row = {"seed": seed, **score(model, train, test, args.ks),
               "fit_s": time.monotonic() - start}
        rows.append(row)
        print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in row.items()), flush=True)
    table = pd.DataFrame(rows)
    if args.out:
        table.to_csv(args.out, index=False)
    summary = table.drop(columns=["seed", "fit_s"]).agg(["mean", "std", "min", "max"]).T
    print(summary.round(4).to_string())


if __name__ == "__main__":
    main()
