"""Rule matrices: interactions -> CSR users x items play-count matrices + stats.json."""
import json

import pandas as pd

from tastemap.core import logs
from tastemap.core.exit import finish
from tastemap.data.matrices import build_matrix, matrix_stats, save_matrix


def main(snakemake):
    log = logs.setup(snakemake.log[0])
    inter = pd.read_parquet(snakemake.input.interactions,
                            columns=["user_idx", "artist_idx", "song_idx", "plays"])
    n_users = len(pd.read_parquet(snakemake.input.users, columns=["user_idx"]))
    n_items = {
        "artist": len(pd.read_parquet(snakemake.input.artists, columns=["artist_idx"])),
        "song": len(pd.read_parquet(snakemake.input.songs, columns=["song_idx"])),
    }
    stats = {}
    for entity, path in zip(snakemake.params.entities, snakemake.output.matrices):
        m = build_matrix(inter, entity, n_users, n_items[entity])
        if m.nnz == 0:
            raise ValueError(f"the user x {entity} matrix is empty: every {entity} was filtered out "
                             "(see prepare_stats.json; lower prepare.min_track_listeners?)")
        save_matrix(path, m)
        stats[f"user_{entity}"] = matrix_stats(m)
        log.info("user x %s: shape %s, nnz %d, density %.2e", entity, m.shape, m.nnz,
                 stats[f"user_{entity}"]["density"])
    with open(snakemake.output.stats, "w") as fh:
        json.dump(stats, fh, indent=2)
    finish()  # the process ends here, without the interpreter's teardown: tastemap/core/exit.py


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
