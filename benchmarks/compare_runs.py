"""Are the data outputs of two runs the same? ``python benchmarks/compare_runs.py RUN_A RUN_B``

RUN_A and RUN_B are snakemake working directories (``--directory``) holding one
``results/<dataset>/``. Compares the data tables (Arrow equality), the ingest and prepare stats
(keys only in B, such as new stats, are listed, not compared), and every array of the matrices
and splits. Prints one line per output and ``ALL SAME`` or ``DIFFERENCES`` (exit status 1).
"""
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq


def res(root):
    return next(Path(root, "results").iterdir())


a, b = res(sys.argv[1]), res(sys.argv[2])
ok = True
for name in ["listens", "rejected", "interactions", "users", "artists", "songs"]:
    ta, tb = pq.read_table(a / f"data/{name}.parquet"), pq.read_table(b / f"data/{name}.parquet")
    same = ta.equals(tb)
    print(f"{name:13s} rows {ta.num_rows:>11,} {'SAME' if same else 'DIFFERENT'}")
    if not same:
        ok = False
        print("  schema a", ta.schema, "\n  schema b", tb.schema)
        for c in ta.column_names:
            if c in tb.column_names and not ta.column(c).equals(tb.column(c)):
                print("  column differs:", c)
for name in ["ingest_stats", "prepare_stats"]:
    ja, jb = (json.loads((run / f"data/{name}.json").read_text()) for run in (a, b))
    extra = set(jb) - set(ja)
    jb = {k: v for k, v in jb.items() if k not in extra}
    same = ja == jb
    ok &= same
    print(f"{name:13s} {'SAME' if same else 'DIFFERENT'} (keys only in b: {sorted(extra)})")
    if not same:
        print(" a", ja, "\n b", jb)
for npz in sorted((a / "matrices").glob("*.npz")) + sorted((a / "split").rglob("*.npz")):
    other = b / npz.relative_to(a)
    za, zb = np.load(npz), np.load(other)
    same = set(za.files) == set(zb.files) and all(np.array_equal(za[k], zb[k]) for k in za.files)
    ok &= same
    print(f"{str(npz.relative_to(a)):40s} {'SAME' if same else 'DIFFERENT'}")
print("ALL SAME" if ok else "DIFFERENCES")
sys.exit(0 if ok else 1)
