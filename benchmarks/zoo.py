"""Model-quality dev harness: every recommender family on the workflow's own splits.

Reads the matrices and splits of a run of the workflow's ``data`` target (run it once in a
scratch directory; nothing here re-splits), fits models with ``tastemap.models.make``, ranks
every user's unplayed items (``recommend``, full ranking, training items excluded) and scores
them with the workflow's ``tastemap.evaluate.metrics.evaluate_recommendations``; confidence intervals
and paired tests come from ``tastemap.evaluate.stats``. Markdown on stdout (or ``--out``).

Data (once per dataset; seeds 0-2, split and validation split exactly as the workflow draws them)::

    snakemake --cores 1 data --configfile benchmarks/ml-100k.yaml --config 'seeds=[0,1,2]' \\
        --directory /work/data/torch/ml100k -s $PWD/Snakefile
    # (the scratch directory needs resources/ml-100k/u.data)

Three commands:

``board``  every family at the schema defaults (``src/tastemap/schemas/config.schema.yaml``; a key
           holding a list gives one variant per value) on the test split of each seed::

    python benchmarks/zoo.py board --results DIR/results/ml-100k --seeds 0 1 2

``search`` a grid (``config/tune.yaml``: ``models.<name>.<key>: [values]``, layered on the
           defaults) fitted on the *validation* split (valid/train -> valid/test); every point's
           score is appended to a CSV, so an interrupted search resumes where it stopped::

    python benchmarks/zoo.py search --results DIR --grid config/tune.yaml --models sgns \\
        --csv /work/data/torch/search_ml100k.csv

``choose`` the best point per family of such CSVs (validation score only; ties -> cheaper fit);
``tables`` every point of such CSVs as Markdown tables (docs/quality.md).

``--set model.key=value`` overrides one hyper-parameter (board and search), e.g.
``--set sgns.epochs=20``; ``--params file.yaml`` layers a ``models:`` section. Reference rows
``implicit-als`` and ``implicit-bpr`` call implicit's ``AlternatingLeastSquares()`` and
``BayesianPersonalizedRanking()`` with the library's defaults (plus ``random_state`` = seed, one
thread) on the same split, and rank with implicit's own ``recommend``.

Fits run on one thread (``num_threads = 1``; BLAS limited to one thread by the caller's
``OPENBLAS_NUM_THREADS=1``); the fit time reported is the process CPU time of ``fit`` (fairer
than wall time on a shared machine) and its wall time.
"""
from __future__ import annotations

import argparse
import itertools
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
import yaml

from tastemap.data.matrices import load_matrix
from tastemap.evaluate import metrics, stats
from tastemap.models import make

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "src" / "tastemap" / "schemas" / "config.schema.yaml"
#: every family of the workflow, in leaderboard order of the issue; popularity is the baseline
FAMILIES = ["popularity", "als", "bpr", "ease", "itemknn", "userknn", "lda", "mf", "item2vec",
            "sgns", "twotower"]
REFERENCES = ["implicit-als", "implicit-bpr"]
NOT_PARAMS = ("enabled", "entities")


# ---- data and parameters --------------------------------------------------------------------
def load_split(results: Path, entity: str, seed: int, fit: str) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(train, test)`` users x items of one seed: the test split (``fit="test"``) or the
    validation split carved out of train (``fit="valid"``), as written by the workflow."""
    sub = results / "split" / f"seed{seed}" / ("valid" if fit == "valid" else "")
    return load_matrix(sub / f"train_{entity}.npz"), load_matrix(sub / f"test_{entity}.npz")


def schema_defaults(name: str) -> dict:
    """The ``models.<name>`` defaults of the config schema (lists = swept values)."""
    schema = yaml.safe_load(SCHEMA.read_text())
    props = schema["properties"]["models"]["properties"][name]["properties"]
    return {k: v["default"] for k, v in props.items() if "default" in v and k not in NOT_PARAMS}


def variants(params: dict) -> list[tuple[str, dict]]:
    """Every combination of the list-valued keys: ``[(name, scalar params), ...]``; the name
    lists the swept values (``factors=64,regularization=0.1``) or is ``default``.

    >>> [v for v, _ in variants({"a": [1, 2], "b": 3, "c": ["x"]})]
    ['a=1,c=x', 'a=2,c=x']
    """
    swept = [k for k, v in params.items() if isinstance(v, list)]
    out = []
    for combo in itertools.product(*(params[k] for k in swept)):
        p = {**params, **dict(zip(swept, combo))}
        out.append((",".join(f"{k}={v}" for k, v in zip(swept, combo)) or "default", p))
    return out


def parse_sets(sets: list[str]) -> dict[str, dict]:
    """``["sgns.epochs=20", "als.factors=[64,128]"]`` -> ``{"sgns": {"epochs": 20}, ...}``."""
    out: dict[str, dict] = {}
    for item in sets:
        key, _, value = item.partition("=")
        model, _, param = key.partition(".")
        if not param or not _:
            raise SystemExit(f"--set {item!r}: use model.key=value")
        out.setdefault(model, {})[param] = yaml.safe_load(value)
    return out


def layered(name: str, *layers: dict) -> dict:
    """Schema defaults of ``name`` with each ``{model: {key: value}}`` layer applied in turn."""
    params = schema_defaults(name) if name in FAMILIES else {}
    for layer in layers:
        params.update({k: v for k, v in (layer.get(name) or {}).items() if k not in NOT_PARAMS})
    return params


# ---- one fit ----------------------------------------------------------------------------------
class _ImplicitReference:
    """implicit's own model with library defaults, ranked by implicit's ``recommend``."""

    def __init__(self, kind: str, seed: int):
        from implicit.cpu.als import AlternatingLeastSquares
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        cls = AlternatingLeastSquares if kind == "als" else BayesianPersonalizedRanking
        self.model = cls(random_state=int(seed), num_threads=1)

    def fit(self, train: sp.csr_matrix):
        self.train = sp.csr_matrix(train, dtype=np.float32)
        self.model.fit(self.train, show_progress=False)
        return self

    def recommend(self, k: int):
        users = np.arange(self.train.shape[0])
        return self.model.recommend(users, self.train, N=k, filter_already_liked_items=True)


def build(name: str, params: dict, seed: int):
    if name in REFERENCES:
        return _ImplicitReference(name.split("-")[1], seed)
    model = make(name, random_state=int(seed), **params)
    model.num_threads = 1
    return model


def fit_score(name: str, params: dict, train: sp.csr_matrix, test: sp.csr_matrix, seed: int,
              ks=(10,)) -> tuple[pd.DataFrame, dict]:
    """Fit, rank the top ``max(ks)`` unplayed items of every user, score them on ``test``.

    Returns the per-user metrics (``evaluate_recommendations``; plus ``rmse`` for models with
    ``predict``) and ``{fit_cpu, fit_wall, history}``.
    """
    model = build(name, params, seed)
    c0, w0 = time.process_time(), time.perf_counter()
    model.fit(train)
    info = {"fit_cpu": time.process_time() - c0, "fit_wall": time.perf_counter() - w0}
    ids, _ = model.recommend(k=max(ks))
    ids = np.asarray(ids)
    ok = ids >= 0
    recs = pd.DataFrame({
        "user_idx": np.repeat(np.arange(len(ids)), ids.shape[1])[ok.ravel()],
        "rank": np.tile(np.arange(1, ids.shape[1] + 1), len(ids))[ok.ravel()],
        "item_idx": ids[ok],
    })
    per_user, _ = metrics.evaluate_recommendations(recs, train, test, ks, source=name)
    if hasattr(model, "predict"):
        per_user["rmse"] = metrics.rmse_per_user(model.predict, test, per_user["user_idx"].to_numpy())
    info["history"] = list(getattr(model, "history_", []))
    return per_user, info


# ---- board --------------------------------------------------------------------------------------
def board(results: Path, entity: str, seeds: list[int], names: list[str], layers: list[dict],
          metric: str = "ndcg@10", log=print) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every variant of every model on every seed's test split.

    Returns ``(per_user, runs)``: the long per-user values (``run, seed, user_idx, metric,
    value``) and one row per (run, seed) with the mean metric and fit times.
    """
    long, runs = [], []
    for seed in seeds:
        train, test = load_split(results, entity, seed, "test")
        for name in names:
            for variant, params in variants(layered(name, *layers)):
                run = name if variant == "default" else f"{name}/{variant}"
                per_user, info = fit_score(name, params, train, test, seed)
                cols = [c for c in per_user.columns if c in (metric, "rmse")]
                part = per_user.melt(id_vars="user_idx", value_vars=cols, var_name="metric")
                long.append(part.assign(run=run, seed=seed))
                row = {"run": run, "seed": seed, metric: per_user[metric].mean(),
                       "rmse": per_user["rmse"].mean() if "rmse" in per_user else np.nan,
                       "fit_cpu": info["fit_cpu"], "fit_wall": info["fit_wall"]}
                runs.append(row)
                log(f"seed {seed} {run}: {metric} {row[metric]:.4f} fit {info['fit_cpu']:.1f} "
                    f"CPU-s ({info['fit_wall']:.1f} s wall)")
    return pd.concat(long, ignore_index=True), pd.DataFrame(runs)


def summarise(long: pd.DataFrame, runs: pd.DataFrame, metric: str = "ndcg@10",
              baseline: str = "popularity", n_resamples: int = 1000) -> pd.DataFrame:
    """One row per run: mean over seeds, sd over seeds, 95% bootstrap CI of the per-user values
    averaged over seeds (users resampled), ratio to ``baseline``, paired Wilcoxon p against the
    baseline (two-sided, per-user seed-averaged values; Holm across runs), share of the best
    model's score (``of_best``; references and the baseline excluded), RMSE, fit time."""
    per = long[long["metric"] == metric]
    wide = per.groupby(["user_idx", "run"], sort=False)["value"].mean().unstack("run")
    order = list(dict.fromkeys(runs["run"]))
    wide = wide[order].dropna()
    mean, low, high = stats.bootstrap_ci(wide.to_numpy(), n_resamples, seed=0)
    g = runs.groupby("run", sort=False)
    table = pd.DataFrame({
        "run": order, metric: mean, "ci_low": low, "ci_high": high,
        "sd_seeds": g[metric].std(ddof=1).reindex(order).to_numpy(),
        "rmse": g["rmse"].mean().reindex(order).to_numpy(),
        "fit_cpu": g["fit_cpu"].mean().reindex(order).to_numpy(),
        "fit_wall": g["fit_wall"].mean().reindex(order).to_numpy(),
        "n_seeds": g.size().reindex(order).to_numpy(),
    })
    if baseline in wide:
        base = wide[baseline].to_numpy()
        table["ratio"] = table[metric] / base.mean()
        tests = [stats.paired_tests(wide[r].to_numpy(), base) if r != baseline else None
                 for r in order]
        p = np.array([np.nan if t is None else t["wilcoxon_p"] for t in tests])
        table["p"] = p
        table["p_holm"] = stats.holm(p)
    own = table[~table["run"].isin(REFERENCES) & (table["run"] != baseline)]
    table["of_best"] = table[metric] / own[metric].max() if len(own) else np.nan
    return table.sort_values(metric, ascending=False, ignore_index=True)


def markdown(table: pd.DataFrame, metric: str = "ndcg@10") -> str:
    """``summarise`` output as a Markdown table."""
    head = ["run", metric, "95% CI", "sd (seeds)", "× pop", "p vs pop (Holm)", "of best", "RMSE",
            "fit CPU-s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, d in table.iterrows():
        cells = [d["run"], f"{d[metric]:.4f}", f"[{d['ci_low']:.4f}, {d['ci_high']:.4f}]",
                 "" if np.isnan(d["sd_seeds"]) else f"{d['sd_seeds']:.4f}",
                 f"{d.get('ratio', np.nan):.2f}",
                 "" if np.isnan(d.get("p_holm", np.nan)) else f"{d['p_holm']:.1e}",
                 f"{100 * d['of_best']:.0f}%",
                 "" if np.isnan(d["rmse"]) else f"{d['rmse']:.3f}", f"{d['fit_cpu']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# ---- search -------------------------------------------------------------------------------------
def search(results: Path, entity: str, seeds: list[int], name: str, grid: dict, layers: list[dict],
           csv: Path, metric: str = "ndcg@10", log=print) -> pd.DataFrame:
    """Fit every point of ``grid`` (``{key: [values]}`` over the defaults) on the validation split
    of each seed; append ``model, point, seed, <metric>, fit_cpu, fit_wall, params`` rows to
    ``csv`` (points already there are skipped)."""
    done = pd.read_csv(csv) if csv.exists() else pd.DataFrame(columns=["model", "point", "seed"])
    have = set(zip(done["model"].astype(str), done["point"].astype(str), done["seed"].astype(int)))
    base = layered(name, *layers)
    base = {k: (v[0] if isinstance(v, list) and k not in grid else v) for k, v in base.items()}
    points = variants({**base, **grid})
    for seed in seeds:
        train, test = load_split(results, entity, seed, "valid")
        for point, params in points:
            if (name, point, seed) in have:
                continue
            per_user, info = fit_score(name, params, train, test, seed)
            row = {"model": name, "point": point, "seed": seed, metric: per_user[metric].mean(),
                   "rmse": per_user["rmse"].mean() if "rmse" in per_user else np.nan,
                   "fit_cpu": info["fit_cpu"], "fit_wall": info["fit_wall"],
                   "params": json.dumps(params, sort_keys=True)}
            pd.DataFrame([row]).to_csv(csv, mode="a", header=not csv.exists(), index=False)
            log(f"{name} seed {seed} {point}: {metric} {row[metric]:.4f} "
                f"({info['fit_cpu']:.1f} CPU-s)")
    return pd.read_csv(csv)


def choose(table: pd.DataFrame, metric: str = "ndcg@10") -> pd.DataFrame:
    """Best point per model by the mean validation score over seeds (ties: cheaper fit)."""
    g = table.groupby(["model", "point"], sort=False).agg(
        score=(metric, "mean"), fit_cpu=("fit_cpu", "mean"), n_seeds=("seed", "nunique"),
        params=("params", "first")).reset_index()
    g = g.sort_values(["model", "score", "fit_cpu"], ascending=[True, False, True])
    return g.groupby("model", sort=False).head(1).reset_index(drop=True)


def search_tables(table: pd.DataFrame, metric: str = "ndcg@10") -> str:
    """Markdown: per model, every grid point's validation score (mean over seeds), best first;
    the chosen point (``choose``) in bold."""
    chosen = set(map(tuple, choose(table, metric)[["model", "point"]].to_numpy()))
    g = table.groupby(["model", "point"], sort=False).agg(
        score=(metric, "mean"), rmse=("rmse", "mean"), fit_cpu=("fit_cpu", "mean"),
        n_seeds=("seed", "nunique")).reset_index()
    out = []
    for model, part in g.groupby("model", sort=False):
        part = part.sort_values("score", ascending=False)
        out += [f"<details><summary>{model}: {len(part)} points, best {part['score'].iloc[0]:.4f}"
                "</summary>", "", f"| point | valid {metric} | fit CPU-s | seeds |",
                "|---|---|---|---|"]
        for r in part.itertuples(index=False):
            mark = "**" if (model, r.point) in chosen else ""
            out.append(f"| {mark}{r.point}{mark} | {mark}{r.score:.4f}{mark} | {r.fit_cpu:.1f} | "
                       f"{r.n_seeds} |")
        out += ["", "</details>", ""]
    return "\n".join(out)


# ---- command line ------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["board", "search", "choose", "tables"])
    ap.add_argument("--results", type=Path, help="results/<dataset> of a data run")
    ap.add_argument("--entity", default="artist")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--models", nargs="+", default=FAMILIES)
    ap.add_argument("--set", dest="sets", action="append", default=[])
    ap.add_argument("--params", type=Path, help="YAML with a models: section layered on defaults")
    ap.add_argument("--grid", type=Path, help="search: YAML with models.<name>.<key>: [values]")
    ap.add_argument("--csv", type=Path, nargs="+", help="search: results file; choose: inputs")
    ap.add_argument("--out", type=Path, help="write the Markdown here (default: stdout)")
    ap.add_argument("--metric", default="ndcg@10")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    layers = []
    if a.params:
        layers.append(yaml.safe_load(a.params.read_text()).get("models", {}))
    layers.append(parse_sets(a.sets))
    if a.command == "board":
        long, runs = board(a.results, a.entity, a.seeds, a.models, layers, a.metric, log)
        text = markdown(summarise(long, runs, a.metric), a.metric)
        stamp = time.strftime("%Y-%m-%d %H:%M")
        text = (f"{a.results} entity {a.entity}, seeds {a.seeds}, {stamp}\n\n" + text)
    elif a.command == "search":
        grids = yaml.safe_load(a.grid.read_text())["models"]
        for name in a.models:
            grid = {k: v for k, v in (grids.get(name) or {}).items() if isinstance(v, list)}
            search(a.results, a.entity, a.seeds, name, grid, layers, a.csv[0], a.metric, log)
        text = choose(pd.read_csv(a.csv[0]), a.metric).to_string(index=False)
    else:
        table = pd.concat([pd.read_csv(c) for c in a.csv], ignore_index=True)
        text = (choose(table, a.metric).to_string(index=False) if a.command == "choose"
                else search_tables(table, a.metric))
    if a.out:
        a.out.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
