"""Topic maps: umap-learn's ``hellinger`` metric against the Euclidean distance of square roots.

The Hellinger distance between two distributions is ``||sqrt(p) - sqrt(q)|| / sqrt(2)``, so
UMAP with ``metric="euclidean"`` on the rows' square roots finds the same neighbours as
``metric="hellinger"`` on the rows. Measured on the users' topic mixtures of a finished topics run
(``user_topics.parquet``; a seeded sample of ``--points`` users): CPU time of ``fit_transform``,
warnings raised, and trustworthiness (scikit-learn, 15 neighbours, in Hellinger space) on the first
3,000 mapped points::

    OPENBLAS_NUM_THREADS=1 python benchmarks/topic_map_metric.py \\
        results/<dataset>/topics/lda/artist/k8/seed0/user_topics.parquet --points 20000
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.manifold import trustworthiness

from tastemap.core.numba_cache import import_umap
from tastemap.data.matrices import sample_rows
from tastemap.explore import umap_epochs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("user_topics")
    ap.add_argument("--points", type=int, default=20000)
    args = ap.parse_args()
    umap = import_umap()
    table = pd.read_parquet(args.user_topics)
    P = table[[c for c in table.columns if c.startswith("topic_")]].to_numpy(np.float64)
    P = P[sample_rows(len(P), args.points, 0)]
    root = np.sqrt(P / P.sum(axis=1, keepdims=True))
    print(f"{len(P)} users, k = {P.shape[1]}")
    print("| UMAP input | CPU s | warnings | trustworthiness |\n|---|---:|---|---:|")
    for name, X, metric in [("rows, metric hellinger", P, "hellinger"),
                            ("square roots, metric euclidean", root, "euclidean")]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = time.process_time()
            Y = umap.UMAP(n_components=2, n_neighbors=15, min_dist=0.1, metric=metric,
                          n_epochs=umap_epochs(len(P)), random_state=0).fit_transform(X)
            cpu = time.process_time() - start
        notes = sorted({str(w.message).split("\n")[0][:50] for w in caught
                        if "NaN" in str(w.message) or "invalid" in str(w.message)
                        or "Spectral" in str(w.message)})
        tw = trustworthiness(root[:3000], Y[:3000], n_neighbors=15)
        print(f"| {name} | {cpu:.1f} | {'; '.join(notes) or 'none'} | {tw:.3f} |")


if __name__ == "__main__":
    main()
