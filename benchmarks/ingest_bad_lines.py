"""Ingest memory and time on a damaged file: good lines, then runaway blank lines and malformed
lines (docs/benchmarks.md, "Ingest of a damaged file").

    python benchmarks/ingest_bad_lines.py                      # 300M blank + 1M malformed lines
    python benchmarks/ingest_bad_lines.py --blank 30000000 --malformed 100000   # a quick look
    python benchmarks/ingest_bad_lines.py --good 40 --malformed 0   # 40 good lines, then blanks

Writes a ``lastfm-1k`` gzip file (2,000 good lines, then one malformed line after every
``blank / malformed`` blank lines, cycling through four kinds of damage, then 2,000 good lines)
and runs the ingest job's script on it in a fresh process, as the workflow does. Prints the
counts of ``ingest_stats.json``, the wall time and the job's peak RSS (``getrusage`` of the
child: the kernel's high-water mark, not a sample).
"""
from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOOD = b"user_%06d\t2009-05-04T23:08:57Z\t\tArtist %d\t\tTrack\n"
#: the malformed lines, cycled: too few fields, bad timestamp, empty user, invalid UTF-8
BAD = (b"user_000001\tonly two fields\n",
       b"user_000001\tyesterday\t\tArtist\t\tTrack\n",
       b"\t2009-05-04T23:08:57Z\t\tArtist\t\tTrack\n",
       b"user_000001\t2009-05-04T23:08:57Z\t\tMot\xf6rhead\t\tAce\n")
# The ingest job of the workflow (scripts/ingest.py) with a stand-in for Snakemake's object.
RUN_JOB = """
import runpy, sys
from types import SimpleNamespace as NS
args = sys.argv[1:]
job = NS(input=NS(listens=args[0], tracks=[]),
         output=NS(listens=args[1] + "/listens.parquet", rejected=args[1] + "/rejected.parquet",
                   stats=args[1] + "/ingest_stats.json"),
         params=NS(format="lastfm-1k", generic={}), log=[args[1] + "/ingest.log"], threads=2)
runpy.run_path(args[2], run_name="bench")["main"](job)
"""


def write_damaged(path: Path, blank: int, malformed: int, good: int = 2000) -> None:
    """The damaged file: ``good`` lines, ``blank`` blank and ``malformed`` bad lines, ``good``."""
    gap = blank // malformed if malformed else 0
    unit = b"".join(b"\n" * gap + bad for bad in BAD)  # len(BAD) malformed lines
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(b"".join(GOOD % (i, i % 50) for i in range(good)))
        units, rest = divmod(malformed, len(BAD))
        for lo in range(0, units, 1000):
            f.write(unit * min(1000, units - lo))
        f.write(b"".join(b"\n" * gap + BAD[i] for i in range(rest)))
        for lo in range(0, blank - gap * malformed, 1 << 24):
            f.write(b"\n" * min(1 << 24, blank - gap * malformed - lo))
        f.write(b"".join(GOOD % (i, i % 50) for i in range(good)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blank", type=int, default=300_000_000)
    ap.add_argument("--malformed", type=int, default=1_000_000)
    ap.add_argument("--good", type=int, default=2000, help="good lines before and after")
    ap.add_argument("--keep", type=Path, help="folder to keep the input and outputs in")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="tastemap-bad-lines-"))
    work.mkdir(parents=True, exist_ok=True)
    raw = work / "damaged.tsv.gz"
    t = time.perf_counter()
    write_damaged(raw, args.blank, args.malformed, args.good)
    print(f"input: {raw} ({raw.stat().st_size:,} bytes gzip; "
          f"written in {time.perf_counter() - t:.1f} s)")
    t = time.perf_counter()
    script = REPO / "scripts" / "ingest.py"
    proc = subprocess.run([sys.executable, "-c", RUN_JOB, str(raw), str(work), str(script)])
    wall = time.perf_counter() - t
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # KiB -> MiB
    if proc.returncode != 0:
        sys.exit(f"ingest failed ({proc.returncode}); log: {work / 'ingest.log'}")
    stats = json.loads((work / "ingest_stats.json").read_text())
    print(json.dumps({k: stats[k] for k in ("lines", "kept", "rejected", "rejected_by_reason")}, indent=1))
    rejected = work / "rejected.parquet"
    print(f"rejected.parquet: {rejected.stat().st_size:,} bytes")
    print(f"ingest job: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
