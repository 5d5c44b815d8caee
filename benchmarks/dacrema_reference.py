"""The authors' own code on a paper's split: the reference column of docs/reproductions.md.

Runs the baselines of Ferrari Dacrema et al. (repository MaurizioFD/RecSys2019_DeepLearning_
Evaluation, commit f5618c6) on the MovieLens 1M "original" SpectralCF split exactly as their
``run_RecSys_18_SpectralCF.py`` scores the final models: fit on the whole train file
(``URM_train + URM_validation``), ``EvaluatorHoldout(URM_test, cutoff_list=[20, 40, 60, 80,
100])``, with the hyper-parameters of the appendix's Tables 42-43 (column "Movielens 1M
original"). It imports only their data reader, baseline classes and evaluator (no TensorFlow).

Not a tastemap dependency: it needs their code and an old numpy in a venv of its own::

    git clone https://github.com/MaurizioFD/RecSys2019_DeepLearning_Evaluation dacrema
    git -C dacrema checkout f5618c6
    python3.11 -m venv dacrema-venv
    dacrema-venv/bin/pip install "numpy<1.24" scipy scikit-learn pandas "Cython<3" tqdm
    (cd dacrema && ../dacrema-venv/bin/python run_compile_all_cython.py)   # their similarity and BPR
    dacrema-venv/bin/python benchmarks/dacrema_reference.py --code dacrema --seeds 0 1 2 \\
        --out dacrema-ml1m-original.csv

Rows: model, seed, REC@k and MAP@k for k in 20..100 (their metric code), fit seconds, users
evaluated. ``UserKNNCF_cosine_binaryURMscoring`` is their user-kNN with the item scores computed
from the binary matrix instead of the TF-IDF one (``fit`` replaces ``URM_train`` by its TF-IDF
weighting, which the scores then use): the variant that gives the published row
(docs/reproductions.md).
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import time

CUTOFFS = [20, 40, 60, 80, 100]
#: model -> (their module, class, fit arguments): Tables 42-43, "Movielens 1M original"
MODELS = {
    "TopPop": ("Base.NonPersonalizedRecommender", "TopPop", {}),
    "ItemKNNCF_cosine": ("KNN.ItemKNNCFRecommender", "ItemKNNCFRecommender",
                         dict(topK=615, shrink=0, similarity="cosine", normalize=True,
                              feature_weighting="TF-IDF")),
    "UserKNNCF_cosine": ("KNN.UserKNNCFRecommender", "UserKNNCFRecommender",
                         dict(topK=365, shrink=0, similarity="cosine", normalize=True,
                              feature_weighting="TF-IDF")),
    "UserKNNCF_cosine_binaryURMscoring": ("KNN.UserKNNCFRecommender", "UserKNNCFRecommender",
                                          dict(topK=365, shrink=0, similarity="cosine",
                                               normalize=True, feature_weighting="TF-IDF")),
    "P3alpha": ("GraphBased.P3alphaRecommender", "P3alphaRecommender",
                dict(topK=332, alpha=1.0075, normalize_similarity=True)),
    "RP3beta": ("GraphBased.RP3betaRecommender", "RP3betaRecommender",
                dict(topK=537, alpha=0.7551, beta=0.5412, normalize_similarity=False)),
    "EASE_R": ("EASE_R.EASE_R_Recommender", "EASE_R_Recommender", dict(l2_norm=2.92e02)),
    "SLIMElasticNet": ("SLIM_ElasticNet.SLIMElasticNetRecommender", "SLIMElasticNetRecommender",
                       dict(topK=747, l1_ratio=7.37e-05, alpha=0.0371)),
    "PureSVD": ("MatrixFactorization.PureSVDRecommender", "PureSVDRecommender",
                dict(num_factors=15)),
    "IALS": ("MatrixFactorization.IALSRecommender", "IALSRecommender",
             dict(num_factors=22, confidence_scaling="log", alpha=1.7077, epsilon=0.001,
                  reg=1e-05, epochs=75)),
    "MF_BPR": ("MatrixFactorization.Cython.MatrixFactorization_Cython",
               "MatrixFactorization_BPR_Cython",
               dict(sgd_mode="adagrad", epochs=445, num_factors=200, batch_size=32,
                    positive_reg=1e-2, negative_reg=1e-2, learning_rate=1e-1,
                    positive_threshold_BPR=None)),
}


def load_split():
    """Their reader of the "original" split (Movielens1MReader, type original): the whole train
    file and the test file as users x items CSR matrices."""
    import numpy as np
    import scipy.sparse as sps
    from Conferences.RecSys.SpectralCF_github.load_data import Data

    path = "Conferences/RecSys/SpectralCF_github/data/ml-1m/"
    data = Data(train_file=path + "train_users.dat", test_file=path + "test_users.dat",
                batch_size=1024)
    train = sps.csr_matrix(data.R)
    users, items = [], []
    for user, test_items in data.test_set.items():
        users += [user] * len(test_items)
        items += test_items
    test = sps.csr_matrix((np.ones(len(items)), (users, items)), shape=train.shape)
    return train, test


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--code", required=True, help="a checkout of their repository (f5618c6)")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--out", required=True, help="CSV to append the rows to")
    args = ap.parse_args(argv)
    out = os.path.abspath(args.out)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    sys.path.insert(0, os.path.abspath(args.code))
    os.chdir(args.code)  # their reader opens paths relative to the repository

    import importlib

    import numpy as np
    import scipy.sparse as sps
    from Base.Evaluation.Evaluator import EvaluatorHoldout

    train, test = load_split()
    evaluator = EvaluatorHoldout(test, cutoff_list=CUTOFFS)  # exclude_seen=True, their default
    header = ["model", "seed"] + [f"{m}@{k}" for k in CUTOFFS for m in ("REC", "MAP")]
    new = not os.path.exists(out)
    with open(out, "a", newline="") as f:
        writer = csv.writer(f)
        if new:
            writer.writerow(header + ["fit_seconds", "n_users_evaluated"])
        for name in args.models:
            module, cls, params = MODELS[name]
            recommender_class = getattr(importlib.import_module(module), cls)
            for seed in args.seeds:
                np.random.seed(seed)
                random.seed(seed)
                fit = dict(params, **({"random_seed": seed} if name == "MF_BPR" else {}))
                rec = recommender_class(train.copy())
                start = time.time()
                rec.fit(**fit)
                seconds = time.time() - start
                if name.endswith("_binaryURMscoring"):
                    rec.URM_train = sps.csr_matrix(train.astype(np.float32))
                result, _ = evaluator.evaluateRecommender(rec)
                row = [name, seed] + [f"{result[k][m]:.6f}" for k in CUTOFFS
                                      for m in ("RECALL", "MAP")]
                writer.writerow(row + [f"{seconds:.2f}", evaluator._n_users_evaluated])
                f.flush()
                print(*row, flush=True)


if __name__ == "__main__":
    main()
