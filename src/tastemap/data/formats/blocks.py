"""The block reader and the line accounting shared by the line formats (all but generic).

A stream is read in blocks of whole lines. numpy finds the line ends and the separators of a
block in two vectorised passes, so every line's number, byte range and field count are known.
Well-formed lines go in one piece to the multi-threaded ``pyarrow.csv`` reader (quoting off);
the few others are split with ``pyarrow.compute.split_pattern`` and handed to the format's
``odd`` hook. :func:`run` adds the pre-checks, the format's value checks, the wrong-format
heuristic and the exact counts (``lines == kept + rejected``).

The parts: :mod:`.lines` (blocks of whole lines, line views, UTF-8 decoding,
:func:`iter_lines`), :mod:`.fields` (:class:`Layout`, a block's pre-checks and fields),
:mod:`.tally` (kept and rejected rows, counts, whole-file errors); here :func:`run` and the
handling of runs of empty lines. A format module imports :class:`Layout`, :func:`run` and
:func:`iter_lines` from here.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tastemap.core.logs import Progress
from tastemap.data.formats.base import BLOCK_BYTES, _stats_from_counts
from tastemap.data.formats.fields import Layout, _block_fields
from tastemap.data.formats.lines import _BOM, _pieces, _raw_blocks, iter_lines
from tastemap.data.formats.source import open_input
from tastemap.data.formats.tally import _Tally

__all__ = ["EMPTY_SHARE", "PIECE_LINES", "Layout", "iter_lines", "run"]


#: A piece with at least this share of empty lines is read without them (:func:`_without_empty`).
EMPTY_SHARE = 0.25


_SAMPLE = 1 << 19  # bytes looked at, at each end of a piece, before counting its empty lines


def _mostly_empty(data: bytes, lo: int, hi: int) -> bool:
    """At least about EMPTY_SHARE of the lines in ``data[lo:hi]`` are empty (a count in C)."""
    return 2 * data.count(b"\n\n", lo, hi) >= EMPTY_SHARE * max(1, data.count(b"\n", lo, hi))


def _without_empty(data: bytes, end: int) -> tuple[bytes, int, np.ndarray | None]:
    """``data[:end]`` without its empty lines, and which lines were empty (None: none taken out).

    A runaway writer can leave hundreds of millions of empty lines: they are all rejected alike,
    so they skip the per-line work (decoding, splitting) that costs ~0.3 us a line.

    >>> d, e, empty = _without_empty(b"a\\n\\n\\n\\nb\\n", 7)
    >>> d[:e], empty.tolist()
    (b'a\\nb\\n', [False, True, True, True, False])
    """
    if not any(_mostly_empty(data, lo, min(lo + _SAMPLE, end)) for lo in (0, max(0, end - _SAMPLE))):
        return data, end, None  # no run of empty lines at either end: read as it is
    buf = np.frombuffer(data, dtype=np.uint8, count=end)
    ends = np.flatnonzero(buf == 10)
    empty = np.diff(ends, prepend=-1) == 1
    if empty.sum() < EMPTY_SHARE * len(ends):
        return data, end, None
    keep = np.ones(end, dtype=bool)
    keep[ends[empty]] = False
    kept = buf[keep].tobytes()
    return kept, len(kept), empty


#: Lines per piece of a block (see :func:`.lines._pieces`): ~40 MB of per-line arrays at most. A
#: block of ordinary lines (BLOCK_BYTES / 60 bytes a line = 560K lines) is never cut.
PIECE_LINES = 1 << 20


def run(path: Path, fmt: str, layout: Layout, header: Callable[[str], None] | None = None,
        block_bytes: int = BLOCK_BYTES, extra_stats: dict | None = None, known: str | None = None,
        sink: Callable[[pa.Table], None] | None = None,
        rejected_sink: Callable[[pa.Table], None] | None = None,
        ) -> tuple[pa.Table | None, pa.Table | None, dict]:
    """Read ``path`` block by block: pre-checks (UTF-8, blank, length), fields (Arrow CSV for
    well-formed lines, split + ``layout.odd`` for the others), ``layout.validate``; collect
    listens, rejected lines and exact counts; stop on whole-file problems. ``known`` is the
    name of the file in the archive the format ships in (see :mod:`tastemap.data.formats.source`).
    With ``sink``, kept rows go to it block by block, in file order, once the first 1,000 lines
    passed the format check (memory: one block instead of the whole table); listens is None.
    With ``rejected_sink``, rejected lines go to it block by block, in line order; rejected is
    None. With both, memory is bounded by the block size, whatever the file holds."""
    with open_input(path, fmt, known) as source:
        tally = _Tally(source.label, fmt, sink, rejected_sink)
        progress = Progress(f"ingest {path.name}", total=source.size, every=15.0)
        for i, (raw, raw_end) in enumerate(_raw_blocks(source.stream, block_bytes)):
            progress.update(source.position(), f"(bytes; {tally.line_no - 1:,} lines so far)")
            if raw.find(b"\r\n", 0, raw_end) >= 0:  # CRLF line ends: drop the CRs (CRLF files only)
                raw = raw[:raw_end].replace(b"\r\n", b"\n")
                tally.crlf += raw_end - len(raw)
                raw_end = len(raw)
            for j, (data, end) in enumerate(_pieces(raw, raw_end, PIECE_LINES)):
                first = i == 0 and j == 0
                skip = 3 if first and data.startswith(_BOM) else 0
                has_header = first and header is not None
                data, end, empty = (data, end, None) if first else _without_empty(data, end)
                block = _block_fields(data, end, skip, layout, has_header)
                if has_header:
                    header(pc.utf8_rtrim(block[1][:1], characters="\r\n")[0].as_py())
                    tally.header_lines = 1
                tally.add(layout, block, has_header, empty)
        listens, rejected = tally.finish()
    extra = {"crlf_lines": int(tally.crlf), **source.describe(), **(extra_stats or {})}
    return listens, rejected, _stats_from_counts(path, fmt, tally.lines, tally.kept,
                                                 tally.n_rejected, tally.counts,
                                                 tally.header_lines, extra)
