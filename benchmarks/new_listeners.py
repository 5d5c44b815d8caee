"""New listeners of a finished run, as the Markdown of docs/quality.md: the held-out users'
table, the likes curve's best family at each n, and the popularity-bias gap between niche and
mainstream listeners.

Reads the workflow's own outputs (``tastemap.core.layout``) of one entity and seed:
``evaluate/<entity>/seed<N>/new_users/{leaderboard,significance,selected,likes_curve}.csv`` and
``popularity_groups.csv``. Per family (its variant chosen on the validation users): trecall@20,
trecall@50, ndcg@100 and ndcg@10 with 95% bootstrap CIs over the test users, and the
Holm-corrected paired Wilcoxon p against popularity.

Usage::

    snakemake --cores all evaluate --configfile benchmarks/ml-100k.yaml   # in a scratch dir
    python benchmarks/new_listeners.py --results RUN/results/ml-100k --out ml100k_new.md
"""
from __future__ import annotations

import argparse
import datetime
import platform
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tastemap.core import layout as L

COLUMNS = ("trecall@20", "trecall@50", "ndcg@100", "ndcg@10")
BASELINE = "popularity"


def read(results: Path, template: str, **wildcards) -> pd.DataFrame:
    return pd.read_csv(results / L.path(template, **wildcards),
                       dtype={"model": str, "variant": str, "a": str, "b": str})


def cell(row: pd.Series) -> str:
    return f"{row['mean']:.4f} [{row['ci_low']:.4f}, {row['ci_high']:.4f}]"


def held_out_table(results: Path, entity: str, seed: int) -> str:
    """One row per family: its chosen variant, the protocol's metrics with CIs, p vs popularity."""
    board = read(results, L.NEW_LEADERBOARD, entity=entity, seed=seed)
    sig = read(results, L.NEW_SIGNIFICANCE, entity=entity, seed=seed)
    p_vs = {}  # runs are named by model (one chosen variant each)
    for _, r in sig.iterrows():
        if BASELINE in (r["a"], r["b"]):
            p_vs[r["b"] if r["a"] == BASELINE else r["a"]] = r["wilcoxon_p_holm"]
    n_users = int(board["n_users"].max())
    lines = [f"| family (variant chosen on validation users) | {' | '.join(COLUMNS)} | "
             f"vs {BASELINE}: Wilcoxon p (Holm) |", "|---" * (len(COLUMNS) + 2) + "|"]
    for (model, variant), rows in board.groupby(["model", "variant"], sort=False):
        by = rows.set_index("metric")
        p = "-" if model == BASELINE else f"{p_vs.get(model, float('nan')):.1e}"
        lines.append(f"| {model} (`{variant}`) | "
                     + " | ".join(cell(by.loc[m]) for m in COLUMNS) + f" | {p} |")
    return f"{n_users} held-out test users.\n\n" + "\n".join(lines) + "\n"


def likes_table(results: Path, entity: str, seed: int) -> str:
    """The best family at each (pick, n) of the likes curve, with popularity beside it."""
    curve = read(results, L.LIKES_CURVE, entity=entity, seed=seed)
    lines = ["| liked | n | best family | its " + curve["metric"].iloc[0] + f" | {BASELINE} |",
             "|---|---|---|---|---|"]
    for (pick, n), rows in curve.groupby(["pick", "n"], sort=False):
        best = rows.loc[rows["mean"].idxmax()]
        base = rows[rows["model"] == BASELINE]
        lines.append(f"| {pick} | {n} | {best['model']} | {cell(best)} | "
                     + (cell(base.iloc[0]) if len(base) else "-") + " |")
    return (f"{int(curve['n_users'].max())} test users with more than {curve['n'].max()} "
            "items.\n\n" + "\n".join(lines) + "\n")


def bias_table(results: Path, entity: str, seed: int) -> str:
    """Per family: the primary metric of the niche and the mainstream third, and the gap."""
    groups = read(results, L.POPULARITY_GROUPS, entity=entity, seed=seed)
    lines = ["| family | niche | mainstream | gap (mainstream - niche) | relative gap |",
             "|---|---|---|---|---|"]
    for (model, _), rows in groups.groupby(["model", "variant"], sort=False):
        by = rows.set_index("group")
        lines.append(f"| {model} | {by.loc['niche', 'mean']:.4f} | "
                     f"{by.loc['mainstream', 'mean']:.4f} | {cell(by.loc['gap'])} | "
                     f"{by.loc['gap', 'relative_gap']:+.0%} |")
    return (f"{groups['metric'].iloc[0]} by mainstreaminess third of the holdout test users.\n\n"
            + "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, required=True, help="results/<dataset> of a run")
    ap.add_argument("--entity", default="artist")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, help="Markdown file (default: stdout)")
    args = ap.parse_args(argv)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=Path(__file__).parent).stdout.strip()
    text = (f"`python benchmarks/new_listeners.py --results {args.results} --entity "
            f"{args.entity} --seed {args.seed}`, {datetime.date.today()}, commit {commit}, "
            f"{platform.machine()}\n\n### Held-out users\n\n"
            + held_out_table(args.results, args.entity, args.seed)
            + "\n### Likes curve\n\n" + likes_table(args.results, args.entity, args.seed)
            + "\n### Popularity bias\n\n" + bias_table(args.results, args.entity, args.seed))
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
