"""Rule evaluate_published: the leaderboard across seeds beside a published table (csv + md)."""

from pathlib import Path

import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.evaluate.published import markdown, read_published, side_by_side


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    out = snakemake.output
    table = side_by_side(pd.read_csv(snakemake.input.leaderboard),
                         read_published(snakemake.input.table))
    table.to_csv(out.table, index=False)
    Path(out.markdown).write_text(markdown(table, snakemake.params.source), encoding="utf-8")
    log.info("%d of %d published numbers matched at their precision", int(table["matches"].sum()),
             len(table))
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
