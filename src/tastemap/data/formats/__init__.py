"""Readers of raw listening logs: one per format -> canonical listens + rejected lines + stats.

Every reader returns ``(listens, rejected, stats)``:

- ``listens``: Arrow table with exactly :data:`LISTENS_SCHEMA` (``user, artist, track,
  timestamp, plays``), one row per kept line, in file order.
- ``rejected``: Arrow table with :data:`REJECTED_SCHEMA` (``line`` = 1-based physical line
  number in the raw file, ``raw`` = the line's text without its line end, cut to its first
  65,536 bytes for a line too long, ``reason``).
- ``stats``: ``{"file", "format", "lines", "kept", "rejected", "rejected_by_reason", ...,
  "compression", "member"}`` with ``lines == kept + rejected`` exactly.

Accounting. ``lines`` counts every physical data line: a line ends at ``\\n``; a last line
without ``\\n`` counts too; a trailing ``\\r`` (CRLF files) is removed from the text. Blank lines
(only white space) are rejected with reason ``"blank line"``. Header lines (HetRec, generic CSV
with ``header: true``) are *not* data lines: they are not in ``lines`` and are reported as
``stats["header_lines"]``; line numbers still count them (the first data line of a file with a
header is line 2). A UTF-8 byte-order mark at the start of the file is dropped. A compressed
file or an archive member is counted the same way, on its decompressed text.

Inputs as they are shipped (:mod:`tastemap.data.formats.source`): plain, gzip, bzip2, xz or zstd
files and zip / tar(.gz, .bz2, .xz) archives, told apart by their first bytes. From an archive
the member with the format's known file name is read (e.g. ``train_triplets.txt``), else its
only data file, else the error names the members. UTF-16 text is refused with a message that
says so.

How (speed and exact line numbers): :mod:`tastemap.data.formats.blocks`. Values are checked with
``pyarrow.compute`` (empty names, integers, timestamps); one grammar both checks and converts a
play count (:func:`parse_counts`).

Whole-file problems raise :class:`FormatError` naming the file (and line): missing or empty
file, corrupt compressed data, 7z / RAR / Parquet given as text, UTF-16, an archive without a
clear member, a file with only a header, a wrong header, and a file of another format. "Wrong
format" means: more than half of the first 1,000 non-blank data lines are rejected, or no line
at all is kept.

Formats declare themselves: each format module registers one :class:`Format` (name, reader,
member name in its shipped archive, side files, whether it has tracks and timestamps);
:mod:`.registry` builds the rest from those declarations (:data:`FORMATS`,
:data:`KNOWN_MEMBERS`, which formats lack track names, the dispatch of :func:`read_listens`).
A format outside the package is a module that registers its own, named by ``input.module``.

Modules: :mod:`.base` (schemas, errors, value parsers), :mod:`.registry` (declarations),
:mod:`.source` (opening files), :mod:`.blocks` (block reader) with its parts :mod:`.lines`
(blocks of lines, UTF-8 decoding), :mod:`.fields` (a block's fields) and :mod:`.tally` (line
accounting), one per format: :mod:`.lastfm1k`, :mod:`.lastfm360k`, :mod:`.msd`, :mod:`.hetrec`,
:mod:`.generic` (the package's formats: :data:`.registry.PACKAGE`).
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tastemap.data.formats import registry
from tastemap.data.formats.base import (
    BLOCK_BYTES,
    FORMAT_CHECK_FRACTION,
    FORMAT_CHECK_LINES,
    INT32_MAX,
    LISTENS_SCHEMA,
    MAX_LINE_CHARS,
    REJECTED_SCHEMA,
    FormatError,
    _Reasons,
    parse_counts,
    parse_iso_timestamps,
)
from tastemap.data.formats.blocks import iter_lines
from tastemap.data.formats.generic import CANONICAL_COLUMNS, read_new_listens
from tastemap.data.formats.hetrec import HETREC_HEADER, read_hetrec_artists
from tastemap.data.formats.lastfm1k import _recover_lastfm1k
from tastemap.data.formats.msd import read_msd_tracks
from tastemap.data.formats.registry import KNOWN_MEMBERS, Format, register
from tastemap.data.formats.source import open_input

#: the names of the package's formats, in :data:`registry.PACKAGE` order (importing the package
#: imports and registers them; a format outside the package adds itself to the registry only)
FORMATS = registry.names()

__all__ = [
    "BLOCK_BYTES", "CANONICAL_COLUMNS", "FORMATS", "FORMAT_CHECK_FRACTION", "FORMAT_CHECK_LINES",
    "HETREC_HEADER", "INT32_MAX", "KNOWN_MEMBERS", "LISTENS_SCHEMA", "MAX_LINE_CHARS",
    "REJECTED_SCHEMA", "Format", "FormatError", "_Reasons", "_recover_lastfm1k", "iter_lines",
    "load_listens", "open_input", "parse_counts", "parse_iso_timestamps", "read_hetrec_artists",
    "read_listens", "read_msd_tracks", "read_new_listens", "register", "ListensWriter", "ParquetSink",
    "RejectedWriter",
]


def load_listens(path: str | Path) -> pa.Table:
    """Read ``data/listens.parquet`` back with exactly :data:`LISTENS_SCHEMA`.

    Parquet has no second-resolution timestamps: a ``timestamp[s]`` column is stored as
    milliseconds and reads back as ``timestamp[ms, UTC]``. This casts it (and every other column)
    back to the canonical types, so ``timestamp.cast(int64)`` gives Unix seconds again.
    """
    return pq.read_table(path).select(LISTENS_SCHEMA.names).cast(LISTENS_SCHEMA)


class ParquetSink:
    """A ``sink`` that writes a Parquet file piece by piece, in row groups of ``row_group_rows``
    rows - the same file ``pq.write_table(whole, path)`` writes from the whole table (whose
    default row group is 1,048,576 rows), without holding it. ``writer_options`` go to
    :class:`pyarrow.parquet.ParquetWriter`.

    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "listens.parquet")
    >>> with ListensWriter(out, row_group_rows=2) as sink:
    ...     for n in (1, 3, 1):
    ...         sink(_rows(n))
    >>> pq.ParquetFile(out).metadata.num_row_groups, pq.read_table(out).num_rows
    (3, 5)
    """

    def __init__(self, path: str | Path, schema: pa.Schema, row_group_rows: int = 1 << 20,
                 **writer_options):
        self.path, self.rows = path, row_group_rows
        self.pending: list[pa.Table] = []
        self.writer = pq.ParquetWriter(path, schema, **writer_options)

    def __call__(self, table: pa.Table) -> None:
        self.pending.append(table)
        if sum(t.num_rows for t in self.pending) >= self.rows:
            whole = pa.concat_tables(self.pending)
            full = whole.num_rows // self.rows * self.rows
            self.writer.write_table(whole.slice(0, full), row_group_size=self.rows)
            self.pending = [whole.slice(full)]

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        rest = pa.concat_tables(self.pending) if self.pending else None
        if rest is not None and rest.num_rows:
            self.writer.write_table(rest, row_group_size=self.rows)
        self.writer.close()


class ListensWriter(ParquetSink):
    """``data/listens.parquet`` piece by piece (a ``sink`` for :func:`read_listens`)."""

    def __init__(self, path: str | Path, row_group_rows: int = 1 << 20):
        super().__init__(path, LISTENS_SCHEMA, row_group_rows)


class RejectedWriter(ParquetSink):
    """``data/rejected.parquet`` piece by piece (a ``rejected_sink`` for :func:`read_listens`).

    Line numbers are stored delta-encoded: a run of rejected lines (a file of 300 million blank
    lines) costs a few bytes per million lines instead of eight bytes a line.

    >>> import tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "rejected.parquet")
    >>> with RejectedWriter(out) as sink:
    ...     sink(pa.table({"line": [3, 4], "raw": ["", "x"], "reason": ["blank line", "bad"]},
    ...                   schema=REJECTED_SCHEMA))
    >>> pq.read_table(out).column("line").to_pylist()
    [3, 4]
    """

    def __init__(self, path: str | Path, row_group_rows: int = 1 << 20):
        super().__init__(path, REJECTED_SCHEMA, row_group_rows, use_dictionary=["raw", "reason"],
                         column_encoding={"line": "DELTA_BINARY_PACKED"})


def _rows(n: int) -> pa.Table:
    """``n`` listens of one user (for the examples)."""
    return pa.table({"user": ["u"] * n, "artist": ["a"] * n, "track": [None] * n,
                     "timestamp": pa.nulls(n, pa.timestamp("s", tz="UTC")), "plays": [1] * n},
                    schema=LISTENS_SCHEMA)


def read_listens(fmt: str, path: str | Path, tracks_path: str | Path | None = None,
                 generic: dict | None = None, block_bytes: int = BLOCK_BYTES,
                 sink: Callable[[pa.Table], None] | None = None,
                 rejected_sink: Callable[[pa.Table], None] | None = None,
                 module: str | None = None,
                 ) -> tuple[pa.Table | None, pa.Table | None, dict]:
    """Read a raw listening log into canonical listens.

    Parameters
    ----------
    fmt : a registered format: one of :data:`FORMATS`, or one ``module`` registers.
    path : the raw file (Last.fm TSV, MSD ``train_triplets.txt``, HetRec ``user_artists.dat``,
        or a CSV/TSV/Parquet file for ``generic``), plain, compressed or an archive holding it.
    tracks_path : optional side file with names: MSD ``unique_tracks.txt`` (song id -> artist,
        title) or HetRec ``artists.dat`` (artist id -> name), also compressed or in an archive.
        Without it, MSD songs are their own artists (named by song id, no track) and HetRec
        artists are named by their id.
    generic : for ``generic``: ``sep``, ``header``, ``columns`` (canonical -> file column),
        ``timestamp_unit`` (as in config ``input.generic``).
    block_bytes : bytes read per block (memory bound).
    sink : optional ``sink(table)`` that takes the kept rows in pieces, in file order (e.g. a
        Parquet writer); then the whole listens table is never in memory and ``listens`` is
        None. Pieces are handed over only after the first 1,000 lines passed the format check;
        a later whole-file error can still follow (the caller discards what it wrote).
    rejected_sink : the same for the rejected lines, in line order (:class:`RejectedWriter`);
        then ``rejected`` is None. With both sinks, memory is bounded by ``block_bytes``
        whatever the file holds (but for a format whose reader does not stream, e.g.
        ``generic``, which reads the whole file at once).
    module : ``input.module``: the module outside tastemap that registers ``fmt``
        (:func:`tastemap.data.formats.registry.get`).

    Returns
    -------
    listens : pa.Table with :data:`LISTENS_SCHEMA`, one row per kept line, in file order
        (None with a ``sink``).
    rejected : pa.Table with :data:`REJECTED_SCHEMA`, one row per rejected line, by line (None
        with a ``rejected_sink``).
    stats : dict with ``file, format, lines, kept, rejected, rejected_by_reason, header_lines,
        compression, member`` (``lines == kept + rejected``) plus format-specific counts.

    Raises
    ------
    FormatError : a whole-file problem, with the file (and line) in the message; an unknown
        ``fmt`` (``input.format: unknown format ...``).
    """
    return registry.get(fmt, module).read(path, tracks_path, generic, block_bytes, sink,
                                          rejected_sink)
