"""One block's lines cut into fields: the per-line pre-checks and the field arrays a format's
:class:`Layout` validates.

numpy finds the separators of a block in one vectorised pass, so every line's field count is
known. Well-formed lines go in one piece to the multi-threaded ``pyarrow.csv`` reader (quoting
off); the few others are split with ``pyarrow.compute.split_pattern`` and handed to the format's
``odd`` hook. Used by :func:`tastemap.data.formats.blocks.run`.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from tastemap.data.formats.base import MAX_LINE_CHARS, _fields, _np_bool, _Reasons
from tastemap.data.formats.lines import _decode, _line_view

_TOO_LONG = f"line too long (> {MAX_LINE_CHARS} bytes)"


class Layout:
    """A delimited line format: ``k`` fields separated by ``sep`` (one byte).

    validate(fields) -> (canonical columns for all given rows, reasons): value checks on the k
    field arrays (string). odd(split_lines, n_fields) -> (recovered field arrays, their positions
    among the odd rows, reasons for all odd rows): lines whose field count is not k.
    """

    def __init__(self, k: int, validate, odd=None, sep: str = "\t"):
        self.k, self.validate, self.sep = k, validate, sep
        self.odd = odd or self._wrong_count

    def _wrong_count(self, split: pa.ListArray, nf: np.ndarray):
        reasons = _Reasons(len(nf))
        reasons.flag(nf < self.k, f"too few fields (expected {self.k} tab-separated)")
        reasons.flag(nf > self.k, f"too many fields (expected {self.k} tab-separated)")
        return [pa.array([], pa.string())] * self.k, np.array([], dtype=np.int64), reasons


def _csv_fields(data: bytes, offsets: np.ndarray, binary: pa.BinaryArray, idx: np.ndarray,
                k: int, sep: str) -> list[pa.Array]:
    """Fields of the lines ``idx`` (each has exactly k-1 separators, no CR, valid UTF-8), parsed
    by the multi-threaded Arrow CSV reader (no quoting: names may start with a quote)."""
    if len(idx) == 0:
        return [pa.array([], pa.string()) for _ in range(k)]
    if len(idx) == len(offsets) - 1:
        buf = pa.py_buffer(data)[int(offsets[0]): int(offsets[-1])]
    else:
        breaks = np.flatnonzero(np.diff(idx) != 1)
        run_lo = np.concatenate([idx[:1], idx[breaks + 1]])
        run_hi = np.concatenate([idx[breaks], idx[-1:]])
        if len(run_lo) <= 50_000:  # copy whole runs of good lines
            view = memoryview(data)
            buf = pa.py_buffer(b"".join(view[offsets[lo]: offsets[hi + 1]] for lo, hi in zip(run_lo, run_hi)))
        else:
            taken = binary.take(pa.array(idx, pa.int64()))
            o = np.frombuffer(taken.buffers()[1], np.int32)[taken.offset: taken.offset + len(taken) + 1]
            buf = taken.buffers()[2][int(o[0]): int(o[-1])]
    names = [f"f{i}" for i in range(k)]
    table = pacsv.read_csv(
        pa.BufferReader(buf),
        read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=sep, quote_char=False, double_quote=False,
                                         escape_char=False, newlines_in_values=False,
                                         ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                             strings_can_be_null=False, check_utf8=False),
    )
    if table.num_rows != len(idx):  # cannot happen for lines checked as above
        raise AssertionError(f"CSV reader returned {table.num_rows} rows for {len(idx)} lines")
    return [table.column(i).combine_chunks() for i in range(k)]


def _pre_checks(data: bytes, end: int, skip: int, layout: Layout, header: bool):
    """Per-line checks before any field is looked at: invalid UTF-8, blank, too long, header.

    Returns (strings (n,), fast mask (n,): lines for the CSV reader, pre reasons, view parts).
    """
    buf, ends, offsets, binary = _line_view(data, end, skip)
    n = len(ends)
    strings, bad_utf8 = _decode(binary)
    seps = np.flatnonzero(buf == ord(layout.sep))
    nsep = np.bincount(np.searchsorted(ends, seps[seps >= skip]), minlength=n)
    has_cr = np.zeros(n, dtype=bool)
    if data.find(b"\r", 0, end) >= 0:
        has_cr[np.searchsorted(ends, np.flatnonzero(buf == 13))] = True
    lengths = np.diff(offsets) - 1
    fast = ~bad_utf8 & (nsep == layout.k - 1) & ~has_cr & (lengths <= MAX_LINE_CHARS)
    if header:
        fast[0] = False
    pre = _Reasons(n)
    pre.flag(bad_utf8, "invalid UTF-8")
    others = np.flatnonzero(~fast)
    if len(others):
        blank = np.zeros(n, dtype=bool)
        blank[others] = _np_bool(pc.utf8_is_space(strings.take(pa.array(others, pa.int64()))))
        pre.flag(blank, "blank line")
    pre.flag(lengths > MAX_LINE_CHARS, _TOO_LONG)
    if header:
        pre.flag(np.arange(n) == 0, "header")
    return strings, fast, pre, (offsets, binary)


def _slow_fields(strings: pa.StringArray, slow_idx: np.ndarray, layout: Layout, rows, fields):
    """Split the lines ``slow_idx`` (not for the CSV reader) and merge those with k fields, or
    recovered by ``layout.odd``, into ``rows``/``fields`` (kept in line order). Returns
    (rows, fields, positions of unrecovered odd lines, their reasons)."""
    slow = pc.utf8_rtrim(strings.take(pa.array(slow_idx, pa.int64())), characters="\r\n")
    split = pc.split_pattern(slow, layout.sep)
    nf = split.value_lengths().to_numpy(zero_copy_only=False)
    exact = np.flatnonzero(nf == layout.k)
    odd = np.flatnonzero(nf != layout.k)
    got, got_pos, odd_r = layout.odd(split.take(pa.array(odd, pa.int64())), nf[odd])
    add_rows = np.concatenate([slow_idx[exact], slow_idx[odd[got_pos]]])
    add_fields = [pa.concat_arrays([e.cast(pa.string()), g.cast(pa.string())])
                  for e, g in zip(_fields(split, exact, layout.k), got)]
    rows = np.concatenate([rows, add_rows])
    order = np.argsort(rows, kind="stable")
    take = pa.array(order, pa.int64())
    fields = [pa.concat_arrays([f, a]).take(take) for f, a in zip(fields, add_fields)]
    bad_odd = np.flatnonzero(~odd_r.ok)
    return rows[order], fields, slow_idx[odd[bad_odd]], odd_r.strings(bad_odd)


def _block_fields(data: bytes, end: int, skip: int, layout: Layout, header: bool):
    """Cut one block of whole lines (``data[skip:end]``) into per-line checks and fields.

    Returns (n_lines, lines (string, with their '\\n'), pre-reasons (n,), rows (positions of the
    lines that reached ``validate``), fields (k arrays aligned with rows), odd-reasons as
    (positions, reason strings)).
    """
    strings, fast, pre, (offsets, binary) = _pre_checks(data, end, skip, layout, header)
    rows = np.flatnonzero(fast)
    fields = _csv_fields(data, offsets, binary, rows, layout.k, layout.sep)
    odd = (np.array([], dtype=np.int64), pa.array([], pa.string()))
    slow_idx = np.flatnonzero(~fast & pre.ok)
    if len(slow_idx):
        rows, fields, *odd = _slow_fields(strings, slow_idx, layout, rows, fields)
    return len(strings), strings, pre, rows, fields, tuple(odd)
