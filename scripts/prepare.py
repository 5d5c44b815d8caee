"""Rule prepare: canonical listens -> deduplicated, filtered, indexed tables."""
import json

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.prepare import prepare


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    opts = snakemake.params.prepare
    log.info("prepare %s; options %s", snakemake.input.listens, opts)
    # the path, not a table: prepare reads the name columns as dictionaries (memory, see prepare.py)
    result = prepare(snakemake.input.listens, **opts)
    log.info("read %d listens", result.stats["rows_in"])
    result.interactions.to_parquet(snakemake.output.interactions, index=False)
    result.users.to_parquet(snakemake.output.users, index=False)
    result.artists.to_parquet(snakemake.output.artists, index=False)
    result.songs.to_parquet(snakemake.output.songs, index=False)
    with open(snakemake.output.stats, "w") as fh:
        json.dump(result.stats, fh, indent=2)
    log.info("wrote %d interactions, %d users, %d artists, %d songs", len(result.interactions),
             len(result.users), len(result.artists), len(result.songs))
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
