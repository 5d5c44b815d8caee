"""Rule explore_summary: the chosen clustering runs of every map and SVD space of one seed."""
import re

import pandas as pd

from tastemap import logs

log = logs.setup(snakemake.log[0])
parts = []
for path in snakemake.input.metrics:
    # .../explore/{entity}/{space}/seed{seed}/{side}/clusters_metrics.csv
    entity, _, _, side = re.search(r"explore/([^/]+)/([^/]+)/seed(\d+)/([^/]+)/", path).groups()
    table = pd.read_csv(path)
    table = table[table["chosen"]]
    table.insert(0, "side", side)
    table.insert(0, "entity", entity)
    parts.append(table)
summary = pd.concat(parts, ignore_index=True)
summary.to_csv(snakemake.output.summary, index=False)
log.info("%d chosen runs from %d tables\n%s", len(summary), len(parts),
         summary[summary["best"]].to_string())
