"""Rule topics_sweep: one table and one figure per entity over the topic counts (and seeds):
held-out perplexity, coherence and, on simulated data, purity / NMI against planted genres."""
import json

import matplotlib.pyplot as plt

import tastemap.logs
from tastemap import plots, topics


def read(paths):
    rows = []
    for path in paths:
        with open(path) as fh:
            rows.append(json.load(fh))
    return rows


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    p, inp, out = snakemake.params, snakemake.input, snakemake.output
    per_entity = len(inp.metrics) // len(p.entities)
    for i, entity in enumerate(p.entities):
        part = slice(i * per_entity, (i + 1) * per_entity)
        table = topics.sweep_table(read(inp.metrics[part]), read(inp.heldout[part]))
        table.to_csv(out.tables[i], index=False)
        log.info("%s: sweep over k:\n%s", entity, table.to_string())
        # three panels side by side: as wide as a map, but never too small to read
        width = max(12.0, float(p.plots["figsize"][0]))
        fig = plots.topic_sweep(
            table, title=f"Choosing the number of LDA topics (user x {entity})",
            figsize=(width, width / 3), dpi=int(p.plots["dpi"]),
        )
        fig.savefig(out.figures[i])
        plt.close(fig)
        log.info("wrote %s", out.figures[i])


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
