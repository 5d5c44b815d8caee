"""Rule explore_summary: the methods side by side for every (entity, side) of one seed, and the
chosen clustering runs of every map and SVD space of the seed (summary.csv)."""
import pandas as pd

from explore_methods import draw_methods
from tastemap import layout, logs


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    p, inp, out = snakemake.params, snakemake.input, snakemake.output
    n = len(p.methods)
    for i, (entity, side) in enumerate(p.sides):
        draw_methods(p.methods, inp.clusters[i * n:(i + 1) * n], entity, side,
                     snakemake.wildcards.seed, p.plots, out.figures[i], log)
    parts = []
    for path in inp.metrics:
        rel = path.split("/", 2)[2]  # results/<dataset>/...
        found = layout.parse(layout.MAP_CLUSTER_METRICS, rel) or layout.parse(
            layout.SVD_CLUSTER_METRICS, rel)
        table = pd.read_csv(path)
        table = table[table["chosen"]]
        table.insert(0, "side", found["side"])
        table.insert(0, "entity", found["entity"])
        parts.append(table)
    summary = pd.concat(parts, ignore_index=True)
    summary.to_csv(out.summary, index=False)
    log.info("%d chosen runs from %d tables\n%s", len(summary), len(parts),
             summary[summary["best"]].to_string())


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
