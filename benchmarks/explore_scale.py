"""Time and score the map work (explore projections, clustering, topic maps) at several sizes.

Each job runs in its own process (its peak RSS and start-up cost are its own, as in the
workflow) and prints one JSON line: data, side, job, points, features, wall / CPU seconds of the
job itself, CPU seconds of the process's imports, peak RSS (MiB), and the quality of a map:
``trust`` (``sklearn.manifold.trustworthiness``, 10 neighbours, of the 2-D map against the
50-dim SVD representation, on a seeded sample of at most 3,000 points: it is O(n^2)) and ``ari``
(k-means with k = the planted genre count on the map vs the planted genres; simulated data only).

Data sets (``--data``):

- ``default``: the matrices of the default config (``results/synthetic`` of a run of
  ``config/config.yaml``, 1,000 users x 3,000 artists / 2,165 songs, 8 planted genres), read from
  ``--results`` (the run's folder, holding ``results/`` and ``resources/``);
- ``ml100k``: MovieLens 100K (943 users x 1,682 movies) from a run of ``benchmarks/ml-100k.yaml``
  (``--results``); no planted genres;
- ``sim20k``: a heavy-tailed users x artists matrix (:func:`heavy_tailed_matrix`, 20,000 x 20,000,
  8 planted genres): both sides are 20,000-point maps, the size ``explore.max_points`` caps at;
- ``lastfm1k``: Last.fm-1K's width (1,000 users x 120,000 artists), the original issue-3 shape.

Usage::

    python benchmarks/explore_scale.py /tmp/bench --data default --results /work/data/maps/default
    python benchmarks/explore_scale.py /tmp/bench --data sim20k --jobs tsne-sklearn,tsne-open
    python benchmarks/explore_scale.py /tmp/bench --data sim20k --only items:umap   # one job here
    python benchmarks/explore_scale.py /tmp/bench --startup     # start-up cost of map processes

Jobs: ``svd``, ``pca``, ``umap`` (the library's settings), ``umap-e<N>`` (``n_epochs=N``),
``umap-highmem`` (``low_memory=False``), ``tsne-sklearn`` (scikit-learn's Barnes-Hut t-SNE, the
settings of explore up to the previous version), ``tsne-open`` (openTSNE, the library's t-SNE),
``place`` (new users on a UMAP map: umap-learn's ``transform`` against
:class:`~tastemap.explore.NeighbourPlacement`, :func:`placement`), ``cluster-<algorithm>``
(the library's sweep of one algorithm over the default k's on the
``umap`` map's coordinates, which that job saves), ``cluster-svd-<algorithm>`` (on the SVD
representation). CPU time is what to compare on a shared machine.
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

KS = [3, 4, 5, 6, 8, 10, 12, 16]
DEFAULT_JOBS = ("svd,pca,umap,umap-e200,umap-e100,tsne-sklearn,tsne-open,cluster-kmeans,"
                "cluster-agglomerative,cluster-hdbscan,cluster-spectral,cluster-svd-kmeans,"
                "cluster-svd-agglomerative,cluster-svd-hdbscan")


def heavy_tailed_matrix(n_users: int, n_artists: int, mean_artists: int, n_genres: int,
                        seed: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """users x artists play counts: Zipf-like artist popularity inside each genre, log-normal
    user breadth (distinct artists), Pareto play counts; 80% of a user's artists from one genre.
    Returns the matrix, each user's genre and each artist's genre."""
    rng = np.random.default_rng(seed)
    genre = rng.integers(0, n_genres, n_artists)
    pop = 1.0 / (1.0 + rng.permutation(n_artists)) ** 0.9
    breadth = np.clip(rng.lognormal(np.log(mean_artists) - 0.5, 1.0, n_users), 5, n_artists // 4)
    by_genre = [np.flatnonzero(genre == g) for g in range(n_genres)]
    p_all = pop / pop.sum()
    p_genre = [pop[idx] / pop[idx].sum() for idx in by_genre]
    user_genre = rng.integers(n_genres, size=n_users)
    rows, cols = [], []
    for u in range(n_users):
        n = int(breadth[u])
        g = user_genre[u]
        own = rng.choice(by_genre[g], size=int(0.8 * n), p=p_genre[g])
        other = rng.choice(n_artists, size=n - len(own), p=p_all)
        items = np.unique(np.concatenate([own, other]))
        rows.append(np.full(len(items), u))
        cols.append(items)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    plays = np.ceil(rng.pareto(1.2, len(rows)) * 3).astype(np.float32) + 1
    m = sp.csr_matrix((plays, (rows, cols)), shape=(n_users, n_artists), dtype=np.float32)
    return m, user_genre, genre


def load_data(name: str, workdir: Path, results: Path | None, entity: str):
    """(users x items matrix, users' genres, items' genres); genres -1 where unknown."""
    if name in ("sim20k", "lastfm1k"):
        shape = {"sim20k": (20_000, 20_000, 40), "lastfm1k": (1_000, 120_000, 900)}[name]
        path = workdir / f"{name}.npz"
        if not path.exists():
            m, ug, ig = heavy_tailed_matrix(*shape, n_genres=8, seed=0)
            np.savez(path, data=m.data, indices=m.indices, indptr=m.indptr, shape=m.shape,
                     users=ug, items=ig)
        z = np.load(path)
        m = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        return m, z["users"], z["items"]
    import pandas as pd

    from tastemap.data.matrices import load_matrix
    from tastemap.explore import truth_labels

    dataset = {"default": "synthetic", "ml100k": "ml-100k"}[name]
    base = results / "results" / dataset
    m = load_matrix(base / "matrices" / f"user_{entity}.npz")
    if name != "default":
        return m, np.full(m.shape[0], -1), np.full(m.shape[1], -1)
    truth = pd.read_parquet(results / "resources" / "synthetic" / dataset / "truth.parquet")
    users = pd.read_parquet(base / "data" / "users.parquet").sort_values("user_idx")
    items = pd.read_parquet(base / "data" / f"{entity}s.parquet").sort_values(f"{entity}_idx")
    return (m, truth_labels(users["user"], truth, "user"),
            truth_labels(items["artist"], truth, "artist"))


def quality(emb: np.ndarray, coords: np.ndarray, truth: np.ndarray, seed: int) -> dict:
    """Trustworthiness (10 neighbours, <= 3,000 sampled points) and k-means ARI vs the truth."""
    from sklearn.cluster import KMeans
    from sklearn.manifold import trustworthiness

    from tastemap.data.matrices import sample_rows
    from tastemap.explore import external_metrics

    s = sample_rows(len(coords), 3000, seed)
    out = {"trust": round(float(trustworthiness(emb[s], coords[s], n_neighbors=10)), 4)}
    genres = np.unique(truth[truth >= 0])
    if len(genres) > 1:
        lab = KMeans(len(genres), n_init=4, random_state=seed).fit_predict(coords)
        out["ari"] = round(external_metrics(lab, truth)["ari"], 4)
    return out


def tsne_sklearn(emb: np.ndarray, seed: int, perplexity: float = 30.0,
                 max_iter: int = 1000) -> np.ndarray:
    """The t-SNE of explore up to this change: scikit-learn Barnes-Hut, cosine, init pca."""
    from sklearn.manifold import TSNE

    perplexity = min(perplexity, (len(emb) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", metric="cosine",
                max_iter=max_iter, random_state=seed, n_jobs=2).fit_transform(emb)


def placement(rows: sp.csr_matrix, truth: np.ndarray, seed: int) -> dict:
    """Place 10% held-out rows on a UMAP map of the other 90% two ways: umap-learn's own
    ``transform`` (the pickled model of earlier versions) and the library's
    :class:`~tastemap.explore.NeighbourPlacement` (what ``model.npz`` does now). Returns the
    median / mean gap between the two placements relative to the map's spread (mean distance
    of the mapped points to their centroid), how often the nearest mapped point's k-means
    cluster (k = 8) agrees, and, with planted genres, how often the 10 nearest mapped points'
    majority genre is the new point's genre under each placement."""
    from sklearn.cluster import KMeans
    from sklearn.neighbors import NearestNeighbors

    from tastemap import explore as ex
    from tastemap.core.numba_cache import import_umap

    rng = np.random.default_rng(seed)
    new = np.sort(rng.choice(rows.shape[0], rows.shape[0] // 10, replace=False))
    fit = np.setdiff1d(np.arange(rows.shape[0]), new)
    svd, emb = ex.fit_svd(rows[fit], 50, seed)
    reducer = import_umap().UMAP(n_neighbors=15, metric="cosine", random_state=seed,
                                 transform_seed=seed, n_jobs=1).fit(emb)
    coords = np.asarray(reducer.embedding_)
    t0 = time.process_time()
    theirs = reducer.transform(svd.transform(rows[new]))
    t1 = time.process_time()
    ours = ex.NeighbourPlacement(15, "cosine").fit(emb, coords).transform(svd.transform(rows[new]))
    t2 = time.process_time()
    spread = np.linalg.norm(coords - coords.mean(axis=0), axis=1).mean()
    gap = np.linalg.norm(ours - theirs, axis=1) / spread
    clusters = KMeans(8, n_init=4, random_state=seed).fit_predict(coords)
    nn = NearestNeighbors(n_neighbors=10).fit(coords)
    out = {"new_points": len(new), "gap_median": round(float(np.median(gap)), 4),
           "gap_mean": round(float(gap.mean()), 4),
           "cluster_agreement": round(float((clusters[nn.kneighbors(ours, 1)[1][:, 0]] ==
                                             clusters[nn.kneighbors(theirs, 1)[1][:, 0]]).mean()), 4),
           "cpu_umap_transform": round(t1 - t0, 2), "cpu_neighbour_placement": round(t2 - t1, 2)}
    if (truth >= 0).any():
        for name, placed in (("umap_transform", theirs), ("neighbours", ours)):
            near = truth[fit][nn.kneighbors(placed)[1]]
            major = np.array([np.bincount(r[r >= 0], minlength=1).argmax() for r in near])
            out[f"genre_hit_{name}"] = round(float((major == truth[new]).mean()), 4)
    return out


def run_job(args, job: str, side: str) -> dict:
    from tastemap import explore as ex
    from tastemap.data.matrices import sample_rows

    m, ug, ig = load_data(args.data, args.workdir, args.results, args.entity)
    rows = ex.orient(m, side)
    truth = ug if side == "users" else ig
    points = sample_rows(rows.shape[0], args.max_points, args.seed)
    rows, truth = rows[points], truth[points]
    tag = args.workdir / f"{args.data}_{args.entity}_{side}"
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0 = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    svd, emb = ex.fit_svd(rows, 50, args.seed)
    coords, out = None, {}
    if job == "pca" or job.startswith("umap") or job == "tsne-open":
        method = "tsne" if job == "tsne-open" else job.split("-")[0]
        params = {"umap-highmem": {"low_memory": False}}.get(job, {})
        if job.startswith("umap-e"):
            params = {"n_epochs": int(job[6:])}
        coords, _ = ex.project(rows, method, args.seed, svd=svd, params=params)
    elif job == "tsne-sklearn":
        coords = tsne_sklearn(emb, args.seed)
    elif job == "place":
        out = placement(rows, truth, args.seed)
    elif job.startswith("cluster-"):
        svd_space = job.startswith("cluster-svd-")
        algorithm = job.split("-")[-1]
        space = emb if svd_space else np.load(f"{tag}_umap.npy")
        _, table = ex.cluster_sweep(space, [algorithm], KS, args.seed, truth=truth,
                                    max_points=10**9)
        best = ex.select_runs(table).query("chosen")
        out = {"ari": round(float(best["ari"].iloc[0]), 4) if len(best) else None,
               "run": best["run"].iloc[0] if len(best) else None}
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    if coords is not None:
        if job == "umap":
            np.save(f"{tag}_umap.npy", coords)
        out = quality(emb, coords, truth, args.seed)
    return {"data": args.data, "entity": args.entity, "side": side, "job": job,
            "points": rows.shape[0], "features": rows.shape[1], "seconds": round(seconds, 1),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime - cpu0, 1),
            "startup_cpu_seconds": round(cpu0, 1), "peak_rss_mib": round(usage.ru_maxrss / 1024),
            **out}


STARTUP = {
    "import sklearn (manifold, cluster)": "import sklearn.manifold, sklearn.cluster",
    "import pynndescent": "import pynndescent",
    "import umap": "import umap",
    "import openTSNE": "import openTSNE",
    "UMAP of 300 points + transform, plain import umap": (
        "import numpy as np, umap; x = np.random.default_rng(0).random((300, 10)); "
        "m = umap.UMAP(random_state=0, n_jobs=1).fit(x); m.transform(x[:5])"),
    "UMAP of 300 points + transform, tastemap.core.numba_cache.import_umap": (
        "import numpy as np; from tastemap.core.numba_cache import import_umap; "
        "x = np.random.default_rng(0).random((300, 10)); "
        "m = import_umap().UMAP(random_state=0, n_jobs=1).fit(x); m.transform(x[:5])"),
    "openTSNE of 300 points": (
        "import numpy as np, openTSNE; x = np.random.default_rng(0).random((300, 10)); "
        "openTSNE.TSNE(random_state=0).fit(x)"),
}


def startup(workdir: Path) -> None:
    """CPU seconds of fresh processes: each snippet of :data:`STARTUP` with an empty numba
    cache folder (cold), then again with the folder the first run filled (warm)."""
    import shutil

    for name, code in STARTUP.items():
        cache = workdir / "numba_startup"
        shutil.rmtree(cache, ignore_errors=True)
        row = {"startup": name}
        for state in ("cold", "warm"):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                           env=dict(os.environ, NUMBA_CACHE_DIR=str(cache)))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            row[f"{state}_cpu_seconds"] = round(after.ru_utime + after.ru_stime
                                                - before.ru_utime - before.ru_stime, 1)
            row[f"{state}_seconds"] = round(time.perf_counter() - start, 1)
        print(json.dumps(row), flush=True)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault(
        "NUMBA_CACHE_DIR", os.path.join(os.path.expanduser("~"), ".cache", "tastemap", "numba"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", type=Path)
    ap.add_argument("--data", default="default", choices=["default", "ml100k", "sim20k", "lastfm1k"])
    ap.add_argument("--results", type=Path, help="the run folder of --data default / ml100k")
    ap.add_argument("--entity", default="artist")
    ap.add_argument("--sides", default="users,items")
    ap.add_argument("--jobs", default=DEFAULT_JOBS)
    ap.add_argument("--max-points", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=None, help="side:job, run in this process")
    ap.add_argument("--startup", action="store_true", help="only the start-up costs (STARTUP)")
    args = ap.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.startup:
        startup(args.workdir)
        return 0
    if args.only:
        import sklearn.cluster  # noqa: F401  (load OpenMP first: threadpoolctl limits loaded ones)
        from threadpoolctl import threadpool_limits

        side, job = args.only.split(":")
        with threadpool_limits(1):  # as the workflow's explore rules run (threads: 1)
            print(json.dumps(run_job(args, job, side)), flush=True)
        return 0
    for side in args.sides.split(","):
        for job in args.jobs.split(","):
            cmd = [sys.executable, __file__, *(argv if argv is not None else sys.argv[1:]),
                   "--only", f"{side}:{job}"]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            out = proc.stdout.strip().splitlines()
            print(out[-1] if proc.returncode == 0 and out else
                  json.dumps({"side": side, "job": job, "error": proc.stderr[-2000:]}),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
