"""Rule topics_sweep: one table and one figure per entity over the topic counts (and seeds):
held-out perplexity, coherence and, on simulated data, purity / NMI against planted genres."""

import json
from pathlib import Path

import matplotlib.pyplot as plt

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.topics import model as topics
from tastemap.viz import figures


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    p, inp, out = snakemake.params, snakemake.input, snakemake.output
    per_entity = len(inp.metrics) // len(p.entities)
    for i, entity in enumerate(p.entities):
        part = slice(i * per_entity, (i + 1) * per_entity)
        metrics, heldout = ([json.loads(Path(path).read_text()) for path in paths]
                            for paths in (inp.metrics[part], inp.heldout[part]))
        table = topics.sweep_table(metrics, heldout)
        table.to_csv(out.tables[i], index=False)
        log.info("%s: sweep over k:\n%s", entity, table.to_string())
        fig = figures.topic_sweep(table, entity, p.plots)
        fig.savefig(out.figures[i])
        plt.close(fig)
        log.info("wrote %s", out.figures[i])
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
