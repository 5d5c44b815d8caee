"""Rule evaluate_across_seeds: per entity, the leaderboard across seeds: mean +- sd of each
run's metric means (csv + md)."""
import pandas as pd

import tastemap.logs
from tastemap import stats


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    p, out = snakemake.params, snakemake.output
    primary, seeds = p.primary, list(p.seeds)
    boards = iter(snakemake.input.leaderboards)
    for i, entity in enumerate(p.entities):
        paths = [next(boards) for _ in seeds]
        table = stats.across_seeds(pd.concat(
            [pd.read_csv(path, dtype={"model": str, "variant": str}) for path in paths],
            ignore_index=True), primary)
        table.insert(0, "entity", entity)
        log.info("%s, %d seeds %s; ranking by %s:\n%s", entity, len(paths), seeds, primary,
                 table[table["metric"] == primary].to_string(index=False))
        table.to_csv(out.leaderboards[i], index=False)
        with open(out.markdown[i], "w") as fh:
            fh.write(f"# Leaderboard: {entity}, seeds {', '.join(map(str, seeds))}\n\n"
                     f"Ranked by {primary}; cells are mean ± sd across seeds of the per-seed means "
                     "(sd blank with one seed).\n\n")
            fh.write(stats.markdown_table(table, spread="sd"))


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
