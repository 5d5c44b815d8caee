"""Rule explore_html: the interactive version (one self-contained HTML file) of every explore map
of one (entity, seed): hover names, zoom, colour by any clustering run, the dominant LDA topic of
each topic run and the planted genre (simulated data). A job of its own so that a new topic
count redraws these files without recomputing any projection."""
import time

import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.explore import map_title
from tastemap.viz.interactive import explore_colourings, topic_runs, write_map


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    w, inp = snakemake.wildcards, snakemake.input
    truth = pd.read_parquet(inp.truth[0]) if inp.truth else None
    # the topic tables of each side, read once for all the methods' maps of that side
    topics = {side: topic_runs(list(inp.topics), side, w.entity)
              for side in {side for side, _ in snakemake.params.maps}}
    for (side, method), clusters, html in zip(snakemake.params.maps, inp.clusters,
                                              snakemake.output.html):
        start = time.perf_counter()
        table = pd.read_parquet(clusters)
        colourings = explore_colourings(table, side, w.entity, topics[side], truth)
        size = write_map(html, table["x"], table["y"], table["name"], colourings,
                         title=map_title(w.entity, side, method, int(w.seed), len(table)),
                         xlabel=f"{method} 1", ylabel=f"{method} 2",
                         kind="user" if side == "users" else w.entity)
        log.info("%s %s (%s): %.1f MB in %.1f s", method, side,
                 ", ".join(c.name for c in colourings), size / 1e6, time.perf_counter() - start)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
