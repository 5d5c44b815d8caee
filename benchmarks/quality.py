"""Model quality of every recommender family, from a real run of the workflow (docs/quality.md).

For one dataset config this runs the workflow's ``evaluate`` target with ``snakemake`` in a
scratch directory (so nothing lands in the repository), for the seeds given, then aggregates the
workflow's own evaluation outputs (``tastemap.core.layout``): per family the variant ``selected.csv``
chose on the validation split of each seed, its per-user test nDCG@10 (``per_user.parquet``),
and the ``fit`` job's CPU time (its ``benchmark:`` table). Two reference rows, implicit's own
``AlternatingLeastSquares()`` and ``BayesianPersonalizedRanking()`` with the library's defaults,
are fitted on the same train splits and scored by the same metric code (``benchmarks/zoo.py``).

Per family: nDCG@10 (mean over seeds of the mean over test users), 95% bootstrap CI over users
of each user's seed-averaged value (``tastemap.evaluate.stats.bootstrap_ci``), sd across the seed means,
ratio to popularity, paired two-sided Wilcoxon against popularity on the seed-averaged per-user
values with Holm's correction over the rows (``tastemap.evaluate.stats``), share of the best tastemap
family, RMSE (MF), and the fit job's CPU seconds (mean per seed; one job fits the train and
full models of a variant, so this is two fits plus loading and ranking; a model with several
variants has a third, validation fit in its own job). Markdown on
stdout or ``--out``, headed by the command, seeds, date and machine.

Usage (MovieLens 100K needs ``resources/ml-100k/u.data`` in the repository: it is linked into
the scratch directory; the simulated default needs nothing)::

    python benchmarks/quality.py --configfile benchmarks/ml-100k.yaml \\
        --directory /work/data/quality/ml100k --seeds 0 1 2 --out ml100k.md
    nice -n 10 python benchmarks/quality.py --configfile config/config.yaml \\
        --directory /work/data/quality/synthetic --seeds 0 1 2 --out synthetic.md

``--config key=value`` is passed on to snakemake (e.g. ``'models={sgns: {epochs: 10}}'``);
``--no-run`` only aggregates an existing run; ``--no-references`` skips the implicit rows.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import zoo  # noqa: E402  (benchmarks/zoo.py: reference rows, summary and Markdown)

from tastemap.core import layout as L  # noqa: E402

METRIC = "ndcg@10"
BASELINE = "popularity"


def link_inputs(config: dict, directory: Path) -> None:
    """Symlink the config's relative ``input.path`` from the repository into ``directory``
    (the scratch run reads its input relative to its working directory)."""
    rel = (config.get("input") or {}).get("path")
    if not rel or Path(rel).is_absolute():
        return
    source, target = ROOT / rel, directory / rel
    if not source.exists():
        raise SystemExit(f"{rel}: input of the config not found in {ROOT} (see the config's header)")
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source.resolve())


def run_workflow(configfile: Path, directory: Path, seeds: list[int], overrides: list[str],
                 cores: int) -> list[str]:
    """``snakemake evaluate`` in ``directory``; returns the command that was run."""
    cmd = [str(Path(sys.executable).with_name("snakemake")), "--cores", str(cores), "evaluate",
           "-s", str(ROOT / "Snakefile"), "--directory", str(directory),
           "--configfile", str(configfile.resolve()),
           "--config", f"seeds=[{','.join(map(str, seeds))}]", *overrides]
    subprocess.run(cmd, check=True)
    return cmd


def results_dir(config: dict, directory: Path) -> Path:
    return directory / "results" / config["dataset"]


def selected_runs(results: Path, entity: str, seeds: list[int]) -> pd.DataFrame:
    """``seed, model, variant`` of every family's variant chosen on validation, per seed."""
    parts = [pd.read_csv(results / L.path(L.SELECTED, entity=entity, seed=s)).assign(seed=s)
             for s in seeds]
    return pd.concat(parts, ignore_index=True)[["seed", "model", "variant"]]


def fit_cpu(results: Path, entity: str, model: str, variant: str, seed: int) -> float:
    """CPU seconds of the ``fit_model`` job (snakemake's ``cpu_time``; NaN if not recorded)."""
    job = L.path(L.MODEL_RUN, entity=entity, model=model, variant=variant, seed=seed) + "/fit"
    bench = results / L.benchmark(job)
    if not bench.exists():
        return float("nan")
    return float(pd.read_csv(bench, sep="\t")["cpu_time"].mean())


def family_rows(results: Path, entity: str, seeds: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The selected variant of every family as ``zoo.summarise`` inputs: ``(long, runs)``.

    A family's row label is ``model/variant``, or ``model/v1|v2`` when seeds chose differently.
    """
    chosen = selected_runs(results, entity, seeds)
    labels = {m: f"{m}/{'|'.join(dict.fromkeys(g['variant']))}"
              for m, g in chosen.groupby("model", sort=False)}
    long, runs = [], []
    for seed in seeds:
        per_user = pd.read_parquet(results / L.path(L.PER_USER, entity=entity, seed=seed))
        for r in chosen[chosen["seed"] == seed].itertuples(index=False):
            mine = per_user[(per_user["model"] == r.model) & (per_user["variant"] == r.variant)]
            run = labels[r.model]
            values = mine[mine["metric"].isin([METRIC, "rmse"])]
            long.append(values[["user_idx", "metric", "value"]].assign(run=run, seed=seed))
            means = values.groupby("metric")["value"].mean()
            runs.append({"run": run, "seed": seed, METRIC: means.get(METRIC, np.nan),
                         "rmse": means.get("rmse", np.nan), "fit_wall": np.nan,
                         "fit_cpu": fit_cpu(results, entity, r.model, r.variant, seed)})
    return pd.concat(long, ignore_index=True), pd.DataFrame(runs)


def reference_rows(results: Path, entity: str, seeds: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """implicit's ALS and BPR with library defaults on each seed's train/test split (zoo.py);
    ``fit_cpu`` is the CPU time of the fit alone."""
    long, runs = [], []
    for seed in seeds:
        train, test = zoo.load_split(results, entity, seed, "test")
        for name in zoo.REFERENCES:
            per_user, info = zoo.fit_score(name, {}, train, test, seed)
            long.append(per_user[["user_idx", METRIC]].rename(columns={METRIC: "value"})
                        .assign(metric=METRIC, run=name, seed=seed))
            runs.append({"run": name, "seed": seed, METRIC: per_user[METRIC].mean(),
                         "rmse": np.nan, "fit_cpu": info["fit_cpu"], "fit_wall": info["fit_wall"]})
    return pd.concat(long, ignore_index=True), pd.DataFrame(runs)


def all_runs_check(results: Path, entity: str) -> str:
    """One sentence on the across-seeds leaderboard of every run (all variants, not only the
    selected ones): which runs, if any, score below popularity."""
    board = pd.read_csv(results / L.path(L.SEEDS_LEADERBOARD, entity=entity))
    board = board[board["metric"] == METRIC]
    pop = board.loc[board["model"] == BASELINE, "mean"].iloc[0]
    below = board[(board["mean"] < pop) & (board["model"] != BASELINE)]
    worst = board[board["model"] != BASELINE].sort_values("mean").iloc[0]
    text = (f"Every run of the workflow's leaderboard (`{L.path(L.SEEDS_LEADERBOARD_MD, entity=entity)}`,"
            f" {len(board)} runs, all variants): lowest {worst['model']}/{worst['variant']} "
            f"{worst['mean']:.4f} against popularity {pop:.4f}; ")
    if below.empty:
        return text + "no run below popularity."
    return text + "below popularity: " + ", ".join(f"{r.model}/{r.variant}" for r in below.itertuples())


def machine_line() -> str:
    import implicit
    import torch

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.node() or 'host'}: {os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}, torch {torch.__version__}, implicit "
            f"{implicit.__version__}; load average at the end {load} (CPU times are contended "
            "when the load exceeds the cores)")


def report(results: Path, entities: list[str], seeds: list[int], command: str,
           references: bool) -> str:
    """The Markdown section: header lines, then one table per entity."""
    out = [f"Command: `{command}`", "",
           f"Seeds: {', '.join(map(str, seeds))}. Date: {datetime.date.today().isoformat()}. "
           f"Machine: {machine_line()}.", "",
           "Rows: each family's variant chosen on the validation split of each seed "
           "(`selected.csv`), scored on the test split; implicit-als / implicit-bpr: implicit's "
           "own models with library defaults on the same train splits. 95% CI: bootstrap over "
           "users of each user's nDCG@10 averaged over the seeds; sd: across the seed means; p: "
           "paired two-sided Wilcoxon against popularity, Holm-corrected over the rows; of best: "
           "share of the best tastemap family. fit CPU-s: the `fit_model` job (train and full "
           "fits of the variant, loading and ranking included), mean per seed; for the "
           "implicit rows the one train fit.", ""]
    for entity in entities:
        long, runs = family_rows(results, entity, seeds)
        if references:
            ref_long, ref_runs = reference_rows(results, entity, seeds)
            long, runs = pd.concat([long, ref_long]), pd.concat([runs, ref_runs])
        table = zoo.summarise(long, runs, METRIC, baseline=f"{BASELINE}/default"
                              if f"{BASELINE}/default" in set(runs["run"]) else BASELINE)
        out += [f"#### {results.name}, user x {entity}", "",
                zoo.markdown(table, METRIC), all_runs_check(results, entity), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configfile", type=Path, required=True)
    ap.add_argument("--directory", type=Path, required=True, help="scratch working directory")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--config", nargs="*", default=[], help="extra snakemake --config overrides")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--no-run", action="store_true", help="aggregate an existing run only")
    ap.add_argument("--no-references", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    config = yaml.safe_load(args.configfile.read_text())
    args.directory.mkdir(parents=True, exist_ok=True)
    link_inputs(config, args.directory)
    if not args.no_run:
        run_workflow(args.configfile, args.directory, args.seeds, args.config, args.cores)
    results = results_dir(config, args.directory)
    entities = [e for e in (config.get("entities") or ["artist"])
                if (results / L.path(L.SELECTED, entity=e, seed=args.seeds[0])).exists()]
    command = "python benchmarks/quality.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    text = report(results, entities, args.seeds, command, not args.no_references)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
