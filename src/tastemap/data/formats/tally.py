"""The line accounting of a whole read: kept rows, rejected lines and exact counts, block by
block (:class:`_Tally`), with the wrong-format heuristic and the whole-file errors.

Every physical line is counted once: ``lines == kept + rejected`` (the header apart). Rejected
lines keep their line number, raw text (a too-long line cut to its head) and reason, in line
order, also when a piece was read without its empty lines (:func:`_with_empty`).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tastemap.data.formats.base import (
    FORMAT_CHECK_FRACTION,
    FORMAT_CHECK_LINES,
    MAX_LINE_CHARS,
    REJECTED_SCHEMA,
    FormatError,
    _listens_table,
    _np_bool,
    _Reasons,
)
from tastemap.data.formats.fields import _TOO_LONG, Layout
from tastemap.data.formats.lines import _whole_chars


def _cut_too_long(rej: pa.Table) -> pa.Table:
    """The raw text of a too-long line cut to its first MAX_LINE_CHARS bytes (whole characters):
    the same wherever the blocks fall, and a line without end does not fill rejected.parquet."""
    long = np.flatnonzero(_np_bool(pc.equal(rej.column("reason"), _TOO_LONG)))
    if len(long) == 0:
        return rej
    raw = rej.column("raw")
    cut = [_whole_chars(text.encode()[:MAX_LINE_CHARS]).decode()
           for text in raw.take(pa.array(long, pa.int64())).to_pylist()]
    mask = np.zeros(rej.num_rows, dtype=bool)
    mask[long] = True
    return rej.set_column(1, "raw", pc.replace_with_mask(raw.combine_chunks(), mask,
                                                         pa.array(cut, pa.string())))



def _with_empty(rej: pa.Table, empty: np.ndarray, first: int) -> pa.Table:
    """The rejected lines of a piece read without its empty lines, with those (blank lines) put
    back in line order. ``first`` is the line number of the piece's first line."""
    is_rej = empty.copy()
    is_rej[rej.column("line").to_numpy() - first] = True
    at = np.flatnonzero(is_rej)
    blank = empty[at]
    pick = pa.array(np.where(blank, rej.num_rows, np.cumsum(~blank) - 1), pa.int64())
    blank_row = {"raw": "", "reason": "blank line"}
    return pa.table({"line": pa.array(first + at, pa.int64()), **{
        c: pa.concat_arrays([rej.column(c).combine_chunks(), pa.array([v])]).take(pick)
        for c, v in blank_row.items()}}, schema=REJECTED_SCHEMA)


class _Tally:
    """Listens, rejected lines and counts of a whole read, block by block.

    With sinks, memory does not grow with the file: kept rows go to ``sink`` (once the format
    check passed) and rejected rows to ``rejected_sink`` block by block; only the first rejected
    lines are kept, for the messages of a whole-file error.
    """

    def __init__(self, label: str, fmt: str, sink: Callable[[pa.Table], None] | None = None,
                 rejected_sink: Callable[[pa.Table], None] | None = None):
        self.label, self.fmt, self.sink, self.rejected_sink = label, fmt, sink, rejected_sink
        self.listens: list[pa.Table] = []  # with a sink: only until the format check is done
        self.kept = self.n_rejected = 0
        self.rejected: list[pa.Table] = []  # with a rejected sink: none
        self.first_rejected = REJECTED_SCHEMA.empty_table()  # the first, and the first non-blank
        self.counts: Counter = Counter()
        self.lines = self.header_lines = self.checked = self.checked_bad = self.crlf = 0
        self.line_no = 1

    def add(self, layout: Layout, block, has_header: bool, empty: np.ndarray | None = None) -> None:
        """One block's outcome: kept rows, rejected lines (sorted by line), counts. ``empty``
        (one per line of the piece, see :func:`.blocks._without_empty`) marks the empty lines
        taken out of the block before it was read: they are rejected as blank lines here."""
        n, lines, pre, rows, fields, (odd_pos, odd_reasons) = block
        start = self.line_no
        numbers = np.arange(start, start + n, dtype=np.int64)
        if empty is not None:
            numbers = start + np.flatnonzero(~empty)
            n = len(empty)
        self.line_no += n
        self.lines += n - (1 if has_header else 0)
        cols, sub = layout.validate(fields)
        ok = sub.ok
        keep = pa.array(np.flatnonzero(ok), pa.int64())
        self.listens.append(_listens_table({k: v.take(keep) for k, v in cols.items()}, int(ok.sum())))
        self.kept += self.listens[-1].num_rows
        pre_bad = np.flatnonzero(~pre.ok)
        if has_header:
            pre_bad = pre_bad[pre_bad != 0]
        val_bad = np.flatnonzero(~ok)
        rej_idx = np.concatenate([pre_bad, odd_pos, rows[val_bad]])
        rej_reason = pa.concat_arrays([pre.strings(pre_bad), odd_reasons, sub.strings(val_bad)])
        order = np.argsort(rej_idx, kind="stable")
        rej_idx = rej_idx[order]
        rej = pa.table({
            "line": pa.array(numbers[rej_idx], pa.int64()),
            "raw": pc.utf8_rtrim(lines.take(pa.array(rej_idx, pa.int64())), characters="\r\n"),
            "reason": rej_reason.take(pa.array(order, pa.int64())),
        }, schema=REJECTED_SCHEMA)
        if empty is not None:
            rej = _with_empty(rej, empty, start)
        if rej.num_rows:
            rej = _cut_too_long(rej)
            vc = pc.value_counts(rej.column("reason")).flatten()
            self.counts.update(dict(zip(vc[0].to_pylist(), vc[1].to_pylist())))
            self._keep_first(rej)
        self.n_rejected += rej.num_rows
        if self.rejected_sink is None:
            self.rejected.append(rej)
        elif rej.num_rows:
            self.rejected_sink(rej)
        if self.checked < FORMAT_CHECK_LINES:
            self._check_start(n, rej_idx, pre, has_header)
        if self.sink is not None and self.checked >= FORMAT_CHECK_LINES:
            self._flush()

    def _keep_first(self, rej: pa.Table) -> None:
        """Keep the first rejected line and the first non-blank one (for the error messages)."""
        if self.first_rejected.num_rows == 0:
            self.first_rejected = rej.slice(0, 1)
        if not self._first_nonblank().num_rows:
            nonblank = rej.filter(pc.not_equal(rej.column("reason"), "blank line")).slice(0, 1)
            self.first_rejected = pa.concat_tables([self.first_rejected, nonblank])

    def _first_nonblank(self) -> pa.Table:
        first = self.first_rejected
        return first.filter(pc.not_equal(first.column("reason"), "blank line")).slice(0, 1)

    def _flush(self) -> None:
        """Hand the kept rows to the sink (once the start of the file passed the format check)."""
        for table in self.listens:
            self.sink(table)
        self.listens = []

    def _check_start(self, n: int, rej_idx: np.ndarray, pre: _Reasons, has_header: bool) -> None:
        """Wrong-format heuristic on the first non-blank lines."""
        is_rej = np.zeros(n, dtype=bool)
        is_rej[rej_idx] = True
        nonblank = pre.codes != (pre.names.index("blank line") if "blank line" in pre.names else -1)
        if has_header:
            nonblank[0] = False
        look = np.flatnonzero(nonblank)[: FORMAT_CHECK_LINES - self.checked]
        self.checked += len(look)
        self.checked_bad += int(is_rej[look].sum())
        if self.checked >= FORMAT_CHECK_LINES:
            self.wrong_format()

    def wrong_format(self, force: bool = False) -> None:
        """Raise when more than half of the first lines were rejected (or ``force``)."""
        if not force and self.checked_bad <= FORMAT_CHECK_FRACTION * self.checked:
            return
        first = self._first_nonblank()
        first_bad = (first if first.num_rows else self.first_rejected).to_pylist()[0]
        what = ("no line can be read" if self.kept == 0 else
                f"{self.checked_bad} of the first {self.checked} non-blank lines cannot be read")
        raise FormatError(
            f"{self.label}: {what} as {self.fmt} (more than half rejected: wrong format?); first "
            f"bad line {first_bad['line']}: {first_bad['reason']}: {first_bad['raw'][:100]!r}. "
            f"Check input.format for this file.")

    def finish(self) -> tuple[pa.Table | None, pa.Table | None]:
        """The whole tables (listens None with a sink, rejected None with a rejected sink: they
        went there); whole-file problems (no data, all blank, wrong format) raise."""
        if self.lines == 0:
            raise FormatError(f"{self.label}: file has only a header line, no data lines to "
                              f"read as {self.fmt}")
        if self.lines == self.counts.get("blank line", 0):
            raise FormatError(f"{self.label}: file has only blank lines, no data to read as {self.fmt}")
        if self.kept == 0 or self.checked_bad > FORMAT_CHECK_FRACTION * self.checked:
            self.wrong_format(force=True)
        rejected = None if self.rejected_sink else pa.concat_tables(self.rejected or [self.first_rejected])
        if self.sink is not None:
            self._flush()
            return None, rejected
        return pa.concat_tables(self.listens), rejected
