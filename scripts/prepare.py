"""Rule prepare: canonical listens -> deduplicated, filtered, indexed tables."""
import json

import pyarrow.parquet as pq

from tastemap import logs
from tastemap.prepare import prepare

log = logs.setup(snakemake.log[0])
opts = snakemake.params.prepare
listens = pq.read_table(snakemake.input.listens)
log.info("read %d listens from %s; options %s", listens.num_rows, snakemake.input.listens, opts)
result = prepare(listens, **opts)
del listens
result.interactions.to_parquet(snakemake.output.interactions, index=False)
result.users.to_parquet(snakemake.output.users, index=False)
result.artists.to_parquet(snakemake.output.artists, index=False)
result.songs.to_parquet(snakemake.output.songs, index=False)
with open(snakemake.output.stats, "w") as fh:
    json.dump(result.stats, fh, indent=2)
log.info("wrote %d interactions, %d users, %d artists, %d songs", len(result.interactions),
         len(result.users), len(result.artists), len(result.songs))
