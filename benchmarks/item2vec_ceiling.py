"""How far can item2vec's scoring rule go? Its ceiling, and a gensim reference (docs/quality.md).

``item2vec`` and ``sgns`` score item ``j`` for user ``u`` by the mean over the user's played
items ``i`` of a model of ``log p(j | i)`` (``tastemap.models.item2vec``). Better training can at
most make the model's ``p(j | i)`` equal to the data's; this script scores that limit directly:
the *empirical* conditionals of the training split (no embedding, full rank), under the same
rule, next to EASE (the best family on MovieLens 100K) on the workflow's own splits:

- ``count``: rows of ``B^T B`` (what the course item2vec fits by KL divergence, by default);
- ``per_entry``: each user's pairs weighted ``1 / (n_u - 1)`` (the pair distribution SGNS
  samples from, and ``item2vec.cooccurrence: per_entry``).

``--gensim`` adds gensim's ``Word2Vec`` (skip-gram, negative sampling, a window spanning every
user's whole item set in random order, ``min_count=1``, no subsampling), scored the same way
(``e_i . c_j + log P_n(j)``) as a known-good reference implementation of item2vec. gensim is not a
dependency of tastemap: ``pip install gensim==4.4.0`` to run that row.

    python benchmarks/item2vec_ceiling.py --results DIR/results/ml-100k --seeds 0 --split valid test

``--by-history`` adds, per split and seed, each scorer's mean nDCG@10 by quartile of the users'
training-item counts: whether the rule falls further behind EASE for users with more items.

Dense item x item matrices: for catalogues up to a few thousand items.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import zoo  # noqa: E402

from tastemap.evaluate import metrics  # noqa: E402


def per_user_ndcg(scores: np.ndarray, train: sp.csr_matrix, test: sp.csr_matrix) -> pd.DataFrame:
    """Per-user nDCG@10 (``user_idx``, ``ndcg@10``) of dense users x items ``scores`` (played
    items excluded), by the workflow's ``evaluate_recommendations``."""
    s = np.array(scores, dtype=np.float64)
    s[train.nonzero()] = -np.inf
    ids = np.argsort(-s, axis=1, kind="stable")[:, :10]
    recs = pd.DataFrame({"user_idx": np.repeat(np.arange(len(ids)), 10),
                         "rank": np.tile(np.arange(1, 11), len(ids)), "item_idx": ids.ravel()})
    per_user, _ = metrics.evaluate_recommendations(recs, train, test, (10,), source="ceiling")
    return per_user


def by_history(per_user: dict[str, pd.DataFrame], train: sp.csr_matrix, bins: int = 4
               ) -> pd.DataFrame:
    """Mean nDCG@10 of each scorer by quantile bin of the users' training-item counts."""
    n_u = pd.Series(np.diff(train.indptr), name="n_u")
    table = pd.DataFrame({name: df.set_index("user_idx")["ndcg@10"] for name, df in per_user.items()})
    table["n_u"] = n_u.reindex(table.index).to_numpy()
    table["bin"] = pd.qcut(table["n_u"], bins)
    return table.groupby("bin", observed=True).agg(
        users=("n_u", "size"), **{name: (name, "mean") for name in per_user})


def empirical_rule(B: sp.csr_matrix, weighting: str, eps: float = 1e-6) -> np.ndarray:
    """Users x items: mean over each user's items ``i`` of ``log(p(j | i) + eps)``, with
    ``p(j | i)`` the rows of the co-occurrence ``cooccurrence_distributions(B, weighting)``."""
    from tastemap.models.item2vec import cooccurrence_distributions

    log_p = np.log(cooccurrence_distributions(B, weighting).toarray().astype(np.float64) + eps)
    n_u = np.maximum(np.asarray(B.sum(axis=1)).ravel(), 1)
    return np.asarray(B @ log_p) / n_u[:, None]


def gensim_rule(B: sp.csr_matrix, seed: int, factors: int = 32, epochs: int = 5,
                negative: int = 5, ns_exponent: float = 0.75) -> tuple[np.ndarray, float]:
    """gensim Word2Vec (sg=1) on each user's items in random order with a window covering the
    whole set; returns (users x items scores by the item2vec rule, fit CPU seconds)."""
    from gensim.models import Word2Vec

    rng = np.random.default_rng(seed)
    sentences = [[str(i) for i in rng.permutation(B.indices[B.indptr[u]:B.indptr[u + 1]])]
                 for u in range(B.shape[0])]
    window = int(np.diff(B.indptr).max())
    c0 = time.process_time()
    w2v = Word2Vec(sentences, vector_size=factors, window=window, min_count=1, sg=1, hs=0,
                   negative=negative, ns_exponent=ns_exponent, epochs=epochs, sample=0.0,
                   workers=1, seed=seed + 1)
    cpu = time.process_time() - c0
    E = np.zeros((B.shape[1], factors))
    C = np.zeros_like(E)
    idx = np.array([int(w) for w in w2v.wv.index_to_key])
    E[idx], C[idx] = w2v.wv.vectors, w2v.syn1neg
    listeners = np.diff(B.tocsc().indptr).astype(np.float64)
    noise = np.where(listeners > 0, listeners**ns_exponent, 0.0)
    log_pn = np.log(np.maximum(noise, 1e-30) / noise.sum())
    users = np.asarray(B @ E) / np.maximum(np.asarray(B.sum(axis=1)), 1)
    return users @ C.T + log_pn, cpu


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, required=True)
    ap.add_argument("--entity", default="artist")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--split", nargs="+", default=["valid", "test"], choices=["valid", "test"])
    ap.add_argument("--gensim", action="store_true")
    ap.add_argument("--by-history", action="store_true",
                    help="also each scorer by quartile of the users' training-item counts")
    args = ap.parse_args(argv)
    tables = []
    print("| split | seed | scorer | ndcg@10 | of EASE |\n|---|---|---|---|---|")
    for split in args.split:
        for seed in args.seeds:
            train, test = zoo.load_split(args.results, args.entity, seed, split)
            B = sp.csr_matrix(train, dtype=np.float32)
            B.eliminate_zeros()
            B.data[:] = 1.0
            ease, _ = zoo.fit_score("ease", zoo.layered("ease"), train, test, seed)
            per_user = {"EASE (schema defaults)": ease}
            for w in ("count", "per_entry"):
                per_user[f"empirical p(j \\| i), {w}"] = per_user_ndcg(empirical_rule(B, w), train,
                                                                      test)
            if args.gensim:
                scores, cpu = gensim_rule(B, seed)
                per_user[f"gensim Word2Vec sg=1 ({cpu:.0f} CPU-s)"] = per_user_ndcg(scores, train,
                                                                                     test)
            best = float(ease["ndcg@10"].mean())
            for name, df in per_user.items():
                value = float(df["ndcg@10"].mean())
                print(f"| {split} | {seed} | {name} | {value:.4f} | {value / best:.0%} |", flush=True)
            if args.by_history:
                tables.append((split, seed, by_history(per_user, train)))
    for split, seed, table in tables:
        names = [c for c in table.columns if c != "users"]
        print(f"\n{split} split, seed {seed}: mean nDCG@10 by the users' training-item count "
              f"(quartiles), and each scorer's share of EASE's\n")
        print("| training items | users | " + " | ".join(names) + " |")
        print("|---|---:|" + "---:|" * len(names))
        for interval, row in table.iterrows():
            cells = [f"{row[n]:.4f} ({row[n] / row[names[0]]:.0%})" if n != names[0]
                     else f"{row[n]:.4f}" for n in names]
            print(f"| {interval} | {int(row['users'])} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
