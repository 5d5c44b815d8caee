"""Prepare's heaviest step, loading listens.parquet and deduplicating it, with one of five methods.

One row per (user, artist, track) with the summed plays (duckdb and polars also first/last time
and first row), from ``listens.parquet``. Prints the groups, CPU time, wall time and the peak
RSS of the process; run each method in its own process (docs/benchmarks.md, "Data stages at
MSD scale", has the table)::

    python benchmarks/bench_dedupe.py pandas    LISTENS.parquet   # prepare before: strings -> pandas groupby
    python benchmarks/bench_dedupe.py factorize LISTENS.parquet   # prepare now: dictionaries + pd.factorize
    python benchmarks/bench_dedupe.py arrow     LISTENS.parquet   # dictionaries + pyarrow group_by
    python benchmarks/bench_dedupe.py duckdb    LISTENS.parquet   # SQL GROUP BY on the file (spills)
    python benchmarks/bench_dedupe.py polars    LISTENS.parquet   # lazy group_by, streaming engine

duckdb and polars are not dependencies of tastemap: install them beside it to compare
(``pip install --target DIR duckdb==1.5.6 polars==1.44.2``, then ``PYTHONPATH=DIR``).
"""
import resource
import sys
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

method, path = sys.argv[1], sys.argv[2]


def codes_dense(col: pa.ChunkedArray) -> np.ndarray:
    """Codes of a string column read in full (the strings are in memory)."""
    enc = pc.dictionary_encode(col).combine_chunks()
    codes = enc.indices.to_numpy(zero_copy_only=False)
    if enc.indices.null_count:
        codes = np.where(enc.indices.is_valid().to_numpy(zero_copy_only=False), codes, -1)
    return codes.astype(np.int32)


def codes_dict(path: str, name: str) -> np.ndarray:
    """Codes of a string column read as an Arrow dictionary (each name once)."""
    from tastemap.data.prepare import _column, _dictionary_codes

    return _dictionary_codes(_column(path, name, dictionary=True))[0]


def groups_pandas(path: str) -> int:
    """prepare before: the whole table, codes, pandas groupby."""
    table = pq.read_table(path)
    u, a, t = (codes_dense(table.column(c)) for c in ("user", "artist", "track"))
    plays = table.column("plays").to_numpy().astype(np.int64)
    del table
    frame = pd.DataFrame({"u": u.astype(np.int64), "a": a.astype(np.int64),
                          "t": t.astype(np.int64), "plays": plays})
    return len(frame.groupby(["u", "a", "t"], sort=False, dropna=False).agg(plays=("plays", "sum")))


def groups_codes(path: str, method: str) -> int:
    """prepare now (factorize) or with pyarrow's hash group_by on the same codes (arrow)."""
    u, a, t = (codes_dict(path, c) for c in ("user", "artist", "track"))
    plays = pq.read_table(path, columns=["plays"]).column(0).to_numpy()
    if method == "arrow":
        table = pa.table({"u": u, "a": a, "t": t, "plays": plays})
        return table.group_by(["u", "a", "t"], use_threads=False).aggregate([("plays", "sum")]).num_rows
    song, songs = pd.factorize(a.astype(np.int64) * (int(t.max()) + 2) + (t + 1))
    gid, groups = pd.factorize(u.astype(np.int64) * len(songs) + song)
    np.bincount(gid, weights=plays, minlength=len(groups))
    return len(groups)


def groups_duckdb(path: str) -> int:
    import duckdb

    con = duckdb.connect(config={"memory_limit": "6GB", "threads": 2})
    con.execute(f"""create table d as select "user", artist, track, sum(plays) as plays,
        min("timestamp") as first_ts, max("timestamp") as last_ts, min(file_row_number) as first_row
        from read_parquet('{path}', file_row_number=true) group by all""")
    return con.execute("select count(*) from d").fetchone()[0]


def groups_polars(path: str) -> int:
    import polars as pl

    return (pl.scan_parquet(path).with_row_index("row")
            .group_by(["user", "artist", "track"])
            .agg(pl.col("plays").sum(), pl.col("timestamp").min().alias("first_ts"),
                 pl.col("timestamp").max().alias("last_ts"), pl.col("row").min())
            .sort("row").collect(engine="streaming").height)


def main() -> None:
    method, path = sys.argv[1], sys.argv[2]
    t0, c0 = time.perf_counter(), time.process_time()
    if method in ("factorize", "arrow"):
        n = groups_codes(path, method)
    else:
        n = {"pandas": groups_pandas, "duckdb": groups_duckdb, "polars": groups_polars}[method](path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"{method}: groups {n:,}  cpu {time.process_time() - c0:.1f} s  "
          f"wall {time.perf_counter() - t0:.1f} s  peak RSS {peak:.2f} GiB")


if __name__ == "__main__":
    main()
