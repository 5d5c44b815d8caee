"""The block reader and the line accounting shared by the line formats (all but generic).

A stream is read in blocks of whole lines. numpy finds the line ends and the separators of a
block in two vectorised passes, so every line's number, byte range and field count are known.
Well-formed lines go in one piece to the multi-threaded ``pyarrow.csv`` reader (quoting off);
the few others are split with ``pyarrow.compute.split_pattern`` and handed to the format's
``odd`` hook. :func:`run` adds the pre-checks, the format's value checks, the wrong-format
heuristic and the exact counts (``lines == kept + rejected``).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from tastemap.formats.base import (
    BLOCK_BYTES,
    FORMAT_CHECK_FRACTION,
    FORMAT_CHECK_LINES,
    MAX_LINE_CHARS,
    REJECTED_SCHEMA,
    FormatError,
    _fields,
    _listens_table,
    _np_bool,
    _Reasons,
    _stats_from_counts,
)
from tastemap.formats.source import open_input
from tastemap.logs import Progress

_BOM = b"\xef\xbb\xbf"
_TOO_LONG = f"line too long (> {MAX_LINE_CHARS} bytes)"


def _raw_blocks(stream: BinaryIO, block_bytes: int,
                max_line: int = MAX_LINE_CHARS) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines as ``(data, end)``: ``data[:end]`` ends with b'\\n' (one is added
    after an unterminated last line). The bytes after ``end`` (a cut line) start the next block.

    A line longer than a block is read on to its end, but only its first ``max_line + 1`` bytes
    are kept (it is rejected as too long whatever follows): memory stays bounded by the block
    size on a file with no line ends at all (a decompression bomb of one endless line).
    """
    parts: list[bytes] = []
    held = 0  # bytes in parts
    while True:
        chunk = stream.read(block_bytes)
        if not chunk:
            if parts:
                last = b"".join(parts)
                yield last + b"\n", len(last) + 1
            return
        cut = chunk.rfind(b"\n")
        if cut < 0:
            if held <= max_line:  # past that, the line is too long whatever else it holds
                parts.append(chunk[: max_line + 4 - held])  # + 4: room to end on a whole character
                held += len(parts[-1])
                if held > max_line:
                    parts = [_whole_chars(b"".join(parts))]  # >= max_line + 1 bytes
                    held = len(parts[0])
            continue
        if held > max_line:  # the end of an over-long line: keep its head, drop the rest
            first = chunk.find(b"\n")
            chunk = chunk[first:]
            cut -= first
        data = b"".join(parts + [chunk]) if parts else chunk
        end = len(data) - len(chunk) + cut + 1
        yield data, end
        parts = [chunk[cut + 1:]] if cut + 1 < len(chunk) else []
        held = len(parts[0]) if parts else 0


def _whole_chars(data: bytes) -> bytes:
    """``data`` without the bytes of a UTF-8 character cut at its end (if any).

    >>> _whole_chars("aé".encode()[:2]), _whole_chars("aé".encode())
    (b'a', b'a\\xc3\\xa9')
    """
    k = len(data) - 1
    while k > 0 and len(data) - k < 4 and data[k] & 0xC0 == 0x80:  # continuation bytes
        k -= 1
    lead = data[k]
    need = 1 if lead < 0xC0 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return data[:k] if len(data) - k < need else data


def _pieces(data: bytes, end: int, max_lines: int) -> Iterator[tuple[bytes, int]]:
    """``(data, end)`` cut at line ends into pieces of at most ``max_lines`` lines each.

    The per-line arrays of a block take ~40 bytes a line, so a block of one-byte lines (blank
    lines) would take 40x its size; pieces keep that bounded. A block of ordinary lines is one
    piece, returned as it is.

    >>> [p[:e] for p, e in _pieces(b"a\\n\\n\\nb\\nc\\nrest", 8, 2)]
    [b'a\\n', b'\\n\\n', b'b\\nc\\n']
    """
    if data.count(b"\n", 0, end) <= max_lines:
        yield data, end
        return
    mid = data.rfind(b"\n", 0, end // 2) + 1 or data.find(b"\n", end // 2) + 1
    yield from _pieces(data[:mid], mid, max_lines)
    yield from _pieces(data[mid:end], end - mid, max_lines)


def _line_view(data: bytes, end: int, skip: int = 0):
    """Zero-copy view of ``data[skip:end]`` (whole lines) as an Arrow binary array, one line each.

    Line i is ``data[offsets[i]:offsets[i+1]]`` including its '\\n' (Arrow strings are
    contiguous). Returns ``(buf, ends, offsets, binary)``: the bytes as uint8, the positions of
    the '\\n's, the int32 offsets and the array.
    """
    buf = np.frombuffer(data, dtype=np.uint8, count=end)
    ends = np.flatnonzero(buf == 10)
    offsets = np.empty(len(ends) + 1, dtype=np.int32)
    offsets[0] = skip
    offsets[1:] = ends + 1
    binary = pa.BinaryArray.from_buffers(pa.binary(), len(ends),
                                         [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return buf, ends, offsets, binary


def _decode(binary: pa.BinaryArray) -> tuple[pa.StringArray, np.ndarray]:
    """Binary lines -> strings + mask of invalid UTF-8 (those decoded with backslash escapes)."""
    try:
        return binary.cast(pa.string()), np.zeros(len(binary), dtype=bool)
    except pa.ArrowInvalid:
        return _decode_slowly(binary)


def _decode_slowly(binary: pa.BinaryArray, block: int = 16384) -> tuple[pa.StringArray, np.ndarray]:
    """Cast block by block; in the blocks holding invalid UTF-8, decode the invalid lines with
    backslash escapes (Python's ``backslashreplace``) and the others as they are.

    The invalid lines are found by :func:`_bad_utf8` in bulk and confirmed by Python's decoder,
    so only they pass through Python; should the bulk check ever miss one, the block is decoded
    line by line in Python instead (the same result, slower).
    """
    parts, bad = [], np.zeros(len(binary), dtype=bool)
    for lo in range(0, len(binary), block):
        piece = binary[lo: lo + block]
        try:
            parts.append(piece.cast(pa.string()))
            continue
        except pa.ArrowInvalid:
            pass
        text, bad[lo: lo + len(piece)] = _decode_bad_lines(piece)
        parts.append(text)
    return pa.concat_arrays(parts), bad


def _decode_bad_lines(binary: pa.BinaryArray) -> tuple[pa.StringArray, np.ndarray]:
    bad = _bad_utf8(binary)
    idx = np.flatnonzero(bad)
    fixed = []
    for i, value in zip(idx, binary.take(pa.array(idx, pa.int64())).to_pylist()):
        try:
            value.decode("utf-8")
            bad[i] = False  # valid after all: kept as it is
        except UnicodeDecodeError:
            fixed.append(value.decode("utf-8", errors="backslashreplace").encode())
    try:
        out = pc.replace_with_mask(binary, pa.array(bad), pa.array(fixed, pa.binary()))
        return out.cast(pa.string()), bad
    except pa.ArrowInvalid:
        return _decode_in_python(binary)


def _decode_in_python(binary: pa.BinaryArray) -> tuple[pa.StringArray, np.ndarray]:
    texts, bad = [], np.zeros(len(binary), dtype=bool)
    for i, value in enumerate(binary.to_pylist()):
        try:
            texts.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(value.decode("utf-8", errors="backslashreplace"))
            bad[i] = True
    return pa.array(texts, pa.string()), bad


def _bad_utf8(binary: pa.BinaryArray) -> np.ndarray:
    """Lines (n,) holding a byte sequence that is not UTF-8, found with numpy over the whole
    buffer: a stray continuation byte, a lead byte without its continuations, the bytes that
    never occur (C0, C1, F5-FF), overlong forms, surrogates and code points above U+10FFFF.
    Each line ends with its b"\\n" (as :func:`_line_view` makes them), which no sequence crosses.

    >>> lines = [b"ok", "Motörhead".encode(), b"Mot\\xf6rhead", b"\\xed\\xa0\\x80", b"\\xe2\\x82"]
    >>> _bad_utf8(pa.array([line + b"\\n" for line in lines], pa.binary())).tolist()
    [False, False, True, True, True]
    """
    offsets = np.frombuffer(binary.buffers()[1], np.int32)[binary.offset: binary.offset + len(binary) + 1]
    b = np.frombuffer(binary.buffers()[2], np.uint8)[offsets[0]: offsets[-1]].astype(np.int16)
    offsets = offsets - offsets[0]
    nxt = [np.concatenate([b[k:], np.full(k, -1, np.int16)]) for k in (1, 2, 3)]
    cont = [(x & 0xC0) == 0x80 for x in (b, *nxt)]  # cont[k][i]: byte i + k continues
    lead2, lead3, lead4 = (b >= 0xC2) & (b <= 0xDF), (b & 0xF0) == 0xE0, (b >= 0xF0) & (b <= 0xF4)
    whole = (lead2 & cont[1]) | (lead3 & cont[1] & cont[2]) | (lead4 & cont[1] & cont[2] & cont[3])
    b1 = nxt[0]
    wrong = ((b == 0xE0) & (b1 < 0xA0)) | ((b == 0xED) & (b1 >= 0xA0)) \
        | ((b == 0xF0) & (b1 < 0x90)) | ((b == 0xF4) & (b1 >= 0x90))
    bad_lead = ((lead2 | lead3 | lead4) & (~whole | wrong)) | (b >= 0xF5) | (b == 0xC0) | (b == 0xC1)
    prev = [np.concatenate([np.zeros(k, bool), x[:-k]]) for k, x in
            ((1, lead2 | lead3 | lead4), (2, lead3 | lead4), (3, lead4))]
    claimed = prev[0] | (prev[1] & np.concatenate([[False], cont[0][:-1]])) \
        | (prev[2] & np.concatenate([[False, False], cont[0][:-2] & cont[0][1:-1]]))
    where = np.flatnonzero(bad_lead | (cont[0] & ~claimed))
    bad = np.zeros(len(binary), dtype=bool)
    bad[np.searchsorted(offsets, where, side="right") - 1] = True
    return bad


def iter_lines(path: str | Path, block_bytes: int = BLOCK_BYTES, what: str = "text",
               known: str | None = None) -> Iterator[tuple[int, pa.StringArray, np.ndarray]]:
    """Yield ``(first_line_number, lines, bad_utf8)`` blocks of the physical lines of ``path``.

    ``lines`` is an Arrow string array of n lines without their line ends (``\\n``, ``\\r\\n``);
    ``bad_utf8`` is a boolean array (n,) marking lines that are not valid UTF-8 (their text is
    decoded with backslash escapes). A UTF-8 byte-order mark at the file start is skipped.
    Compressed files and archives are read as :func:`~tastemap.formats.source.open_input` says.
    """
    line_no = 1
    with open_input(path, what, known) as source:
        for i, (data, end) in enumerate(_raw_blocks(source.stream, block_bytes)):
            skip = 3 if i == 0 and data.startswith(_BOM) else 0
            _, _, _, binary = _line_view(data, end, skip)
            lines, bad = _decode(binary)
            yield line_no, pc.utf8_rtrim(lines, characters="\r\n"), bad
            line_no += len(lines)


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
        (one per line of the piece, see :func:`_without_empty`) marks the empty lines taken out
        of the block before it was read: they are rejected as blank lines here."""
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


#: Lines per piece of a block (see :func:`_pieces`): ~40 MB of per-line arrays at most. A block
#: of ordinary lines (BLOCK_BYTES / 60 bytes a line = 560K lines) is never cut.
PIECE_LINES = 1 << 20


def run(path: Path, fmt: str, layout: Layout, header: Callable[[str], None] | None = None,
        block_bytes: int = BLOCK_BYTES, extra_stats: dict | None = None, known: str | None = None,
        sink: Callable[[pa.Table], None] | None = None,
        rejected_sink: Callable[[pa.Table], None] | None = None,
        ) -> tuple[pa.Table | None, pa.Table | None, dict]:
    """Read ``path`` block by block: pre-checks (UTF-8, blank, length), fields (Arrow CSV for
    well-formed lines, split + ``layout.odd`` for the others), ``layout.validate``; collect
    listens, rejected lines and exact counts; stop on whole-file problems. ``known`` is the
    name of the file in the archive the format ships in (see :mod:`tastemap.formats.source`).
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
