"""Rule evaluate_across_seeds: per entity, the leaderboard across seeds: mean +- sd of each
run's metric means (csv + md)."""

from pathlib import Path

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.pipeline import evaluation as evaluate


def main(snakemake):
    logs.setup(snakemake.log[0])
    p, out = snakemake.params, snakemake.output
    seeds = list(p.seeds)
    boards = iter(snakemake.input.leaderboards)
    for i, entity in enumerate(p.entities):
        table = evaluate.across_seeds([next(boards) for _ in seeds], entity, p.primary)
        table.to_csv(out.leaderboards[i], index=False)
        Path(out.markdown[i]).write_text(
            evaluate.across_seeds_markdown(table, entity, seeds, p.primary), encoding="utf-8")
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
