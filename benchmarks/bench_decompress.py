"""Time the decompression readers ingest can use, on one plain file and its compressed copies.

Each reader streams the whole file in 32 MiB reads (what ingest's block reader asks for) and
the CPU time, wall time and throughput of the text bytes are printed as a Markdown table; with
``--ingest`` also the whole ``read_listens`` of the plain file and of each copy.

Usage::

    python benchmarks/bench_decompress.py FORMAT PLAIN COPY [COPY ...] [--ingest]

    python benchmarks/bench_decompress.py lastfm-360k data/plays.tsv data/plays.tsv.gz \\
        data/plays.tsv.bz2 data/plays.tsv.xz data/plays.tsv.zst data/plays.zip --ingest

The copies are recognised by their first bytes (as in ingest), not by their names.
"""
from __future__ import annotations

import argparse
import bz2
import gzip
import lzma
import time
import zipfile
from pathlib import Path

import pyarrow as pa

from tastemap.data.formats import read_listens
from tastemap.data.formats.source import COMPRESSED, ZIP

BLOCK = 1 << 25


def _arrow(codec: str):
    return lambda path: pa.CompressedInputStream(pa.OSFile(str(path)), codec)


def _zip_member(path: Path):
    archive = zipfile.ZipFile(path)
    return archive.open(archive.infolist()[0])


#: The readers compared for each kind of file.
READERS = {
    None: {"plain file (open)": lambda p: open(p, "rb")},
    "gzip": {"pyarrow CompressedInputStream": _arrow("gzip"), "Python gzip": gzip.open},
    "bzip2": {"pyarrow CompressedInputStream": _arrow("bz2"), "Python bz2": bz2.open},
    "xz": {"Python lzma (pyarrow has no xz codec)": lzma.open},
    "zstd": {"pyarrow CompressedInputStream": _arrow("zstd")},
    "zip": {"Python zipfile (deflate)": _zip_member},
}


def kind_of(path: Path) -> str | None:
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(ZIP):
        return "zip"
    return next((k for m, k in COMPRESSED.items() if head.startswith(m)), None)


def stream_all(opener, path: Path) -> tuple[int, float, float]:
    """Read everything in 32 MiB reads: (text bytes, CPU s, wall s)."""
    c0, t0 = time.process_time(), time.perf_counter()
    n = 0
    with opener(path) as f:
        while chunk := f.read(BLOCK):
            n += len(chunk)
    return n, time.process_time() - c0, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("format", help="input.format of the files (for --ingest)")
    parser.add_argument("files", nargs="+", type=Path, help="the plain file, then its copies")
    parser.add_argument("--ingest", action="store_true", help="also time read_listens on each")
    args = parser.parse_args(argv)
    print("| file | size (MB) | reader | CPU (s) | wall (s) | text MB/s (CPU) |")
    print("|---|---:|---|---:|---:|---:|")
    for path in args.files:
        kind = kind_of(path)
        for name, opener in READERS[kind].items():
            n, cpu, wall = stream_all(opener, path)
            print(f"| {path.name} | {path.stat().st_size / 1e6:,.0f} | {name} | {cpu:.1f} | "
                  f"{wall:.1f} | {n / 1e6 / cpu:,.0f} |", flush=True)
    if args.ingest:
        print("\n| file | read_listens CPU (s) | wall (s) | lines |")
        print("|---|---:|---:|---:|")
        for path in args.files:
            c0, t0 = time.process_time(), time.perf_counter()
            _, _, stats = read_listens(args.format, path)
            print(f"| {path.name} | {time.process_time() - c0:.1f} | "
                  f"{time.perf_counter() - t0:.1f} | {stats['lines']:,} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
