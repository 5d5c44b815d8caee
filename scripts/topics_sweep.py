"""Rule topics_sweep: one table and one figure per entity over the topic counts (and seeds):
held-out perplexity, coherence and, on simulated data, purity / NMI against planted genres."""
import json

import tastemap.logs
from tastemap import plots, topics


def main(snakemake):
    log = tastemap.logs.setup(snakemake.log[0])
    p, inp, out = snakemake.params, snakemake.input, snakemake.output

    def read(paths):
        rows = []
        for path in paths:
            with open(path) as fh:
                rows.append(json.load(fh))
        return rows

    table = topics.sweep_table(read(inp.metrics), read(inp.heldout))
    table.to_csv(out.table, index=False)
    log.info("sweep over k:\n%s", table.to_string())
    # three panels side by side: as wide as a map, but never too small to read
    width = max(12.0, float(p.plots["figsize"][0]))
    fig = plots.topic_sweep(
        table, title=f"Choosing the number of LDA topics (user x {snakemake.wildcards.entity})",
        figsize=(width, width / 3), dpi=int(p.plots["dpi"]),
    )
    fig.savefig(out.figure)
    log.info("wrote %s", out.figure)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
