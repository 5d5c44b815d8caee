"""Readers of raw listening logs: one per format -> canonical listens + rejected lines + stats.

Every reader returns ``(listens, rejected, stats)``:

- ``listens``: Arrow table with exactly :data:`LISTENS_SCHEMA` (``user, artist, track,
  timestamp, plays``), one row per kept line, in file order.
- ``rejected``: Arrow table with :data:`REJECTED_SCHEMA` (``line`` = 1-based physical line
  number in the raw file, ``raw`` = the line's text without its line end, ``reason``).
- ``stats``: ``{"file", "format", "lines", "kept", "rejected", "rejected_by_reason", ...}`` with
  ``lines == kept + rejected`` exactly.

Accounting. ``lines`` counts every physical data line: a line ends at ``\\n``; a last line
without ``\\n`` counts too; a trailing ``\\r`` (CRLF files) is removed from the text. Blank lines
(only white space) are rejected with reason ``"blank line"``. Header lines (HetRec, generic CSV
with ``header: true``) are *not* data lines: they are not in ``lines`` and are reported as
``stats["header_lines"]``; line numbers still count them (the first data line of a file with a
header is line 2). A UTF-8 byte-order mark at the start of the file is dropped.

How (speed and exact line numbers). The file is read in blocks of whole lines. numpy finds the
line ends and the separators of a block in two vectorised passes, so every line's number, byte
range and field count are known. Well-formed lines (right field count, valid UTF-8, no stray
``\\r``) - nearly all of them - go in one piece to the multi-threaded ``pyarrow.csv`` reader
with quoting off (Last.fm names may start with ``"``). The few others are split with
``pyarrow.compute.split_pattern``; only Last.fm-1K lines with stray tabs are looked at one by one
in Python. ``pyarrow.csv`` alone is not enough: it treats a lone ``\\r`` as a line end and does
not give the line numbers of bad rows when reading in parallel. Values are then checked with
``pyarrow.compute`` (empty names, integers, timestamps).

Whole-file problems raise :class:`FormatError` naming the file (and line): missing or empty
file, compressed bytes, a file with only a header, a wrong header, and a file of another format.
"Wrong format" means: more than half of the first 1,000 non-blank data lines are rejected, or
no line at all is kept.
"""
from __future__ import annotations

import csv
import logging
import re
from collections import Counter
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tastemap.logs import Progress

log = logging.getLogger("tastemap.formats")

FORMATS = ("lastfm-1k", "lastfm-360k", "msd-triplets", "hetrec-2k", "generic")

#: Canonical listens (DESIGN.md section 2). user, artist and plays are never null in ingest's
#: output; the fields stay nullable so tables built elsewhere concatenate without casts.
LISTENS_SCHEMA = pa.schema([
    pa.field("user", pa.string()),
    pa.field("artist", pa.string()),
    pa.field("track", pa.string()),
    pa.field("timestamp", pa.timestamp("s", tz="UTC")),
    pa.field("plays", pa.int32()),
])
REJECTED_SCHEMA = pa.schema([
    pa.field("line", pa.int64()),
    pa.field("raw", pa.string()),
    pa.field("reason", pa.string()),
])

#: Lines longer than this many characters are rejected ("line too long"): no real name is that
#: long, and such lines are corrupt (e.g. a missing line end merging thousands of lines).
MAX_LINE_CHARS = 65_536
#: Wrong-format heuristic: look at this many first non-blank data lines ...
FORMAT_CHECK_LINES = 1_000
#: ... and stop when more than this fraction of them is rejected.
FORMAT_CHECK_FRACTION = 0.5
#: Bytes read per block; bounds memory (the block + its split fields) independent of file size.
BLOCK_BYTES = 1 << 25

INT32_MAX = 2**31 - 1
_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_UUID_RE = re.compile(_UUID)
_MONTH_DATE = (r"(?i)^\s*(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}\s*$"
               r"|^\s*\d{4}-\d{2}-\d{2}([ T].*)?$|^\s*\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\s*$")
_MAGIC = {
    b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"PK\x03\x04": "zip", b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd", b"7z\xbc\xaf\x27\x1c": "7z", b"PAR1": "Parquet",
}


class FormatError(ValueError):
    """A whole-file problem: the message names the file (and the line where it helps)."""


# ---- reading lines ------------------------------------------------------------------------------


def _check_file(path: Path, fmt: str, text: bool = True) -> None:
    if not path.exists():
        raise FormatError(f"{path}: file not found")
    if path.is_dir():
        raise FormatError(f"{path}: is a directory, expected a {fmt} file")
    if path.stat().st_size == 0:
        raise FormatError(f"{path}: file is empty (0 bytes), expected a {fmt} file")
    if text:
        with open(path, "rb") as f:
            head = f.read(8)
        for magic, kind in _MAGIC.items():
            if head.startswith(magic):
                hint = "decompress it first" if kind != "Parquet" else "use input.format: generic"
                raise FormatError(
                    f"{path}: line 1: the file is {kind} data, not {fmt} text ({hint})"
                )


def _raw_blocks(path: Path, block_bytes: int) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines as ``(data, end)``: ``data[:end]`` ends with b'\\n' (one is added
    after an unterminated last line). The file position is moved back to the start of the cut
    line instead of slicing ``data``, so no block is copied."""
    with open(path, "rb") as f:
        while True:
            data = f.read(block_bytes)
            if not data:
                return
            if len(data) == block_bytes:
                cut = data.rfind(b"\n")
                if cut < 0:  # a line longer than one block: read on to its end
                    data += f.readline()
                    cut = len(data) - 1 if data.endswith(b"\n") else -1
                else:
                    f.seek(cut + 1 - len(data), 1)
                if cut >= 0:
                    yield data, cut + 1
                    continue
            if not data.endswith(b"\n"):
                data += b"\n"
            yield data, len(data)


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


def _decode_lines(data: bytes, end: int, skip: int = 0) -> tuple[pa.StringArray, np.ndarray]:
    """Cut ``data[skip:end]`` (whole lines, ending in b'\\n') into an Arrow string array, one
    line each, without line ends. Returns (lines, bad_utf8 mask). Lines with invalid UTF-8 come
    back decoded with backslash escapes (for the rejected table) and flagged in the mask."""
    # the line end (and a CR before it) is trimmed off after decoding.
    _, _, offsets, binary = _line_view(data, end, skip)
    bad = np.zeros(len(binary), dtype=bool)
    try:
        strings = binary.cast(pa.string())
    except pa.ArrowInvalid:
        strings, bad = _decode_slowly(binary)
    return pc.utf8_rtrim(strings, characters="\r\n"), bad


def _decode_slowly(binary: pa.BinaryArray, block: int = 4096) -> tuple[pa.StringArray, np.ndarray]:
    """Cast block by block; decode only blocks holding invalid UTF-8 line by line in Python."""
    parts, bad = [], np.zeros(len(binary), dtype=bool)
    for lo in range(0, len(binary), block):
        piece = binary[lo: lo + block]
        try:
            parts.append(piece.cast(pa.string()))
            continue
        except pa.ArrowInvalid:
            pass
        texts = []
        for i, value in enumerate(piece.to_pylist()):
            try:
                texts.append(value.decode("utf-8"))
            except UnicodeDecodeError:
                texts.append(value.decode("utf-8", errors="backslashreplace"))
                bad[lo + i] = True
        parts.append(pa.array(texts, pa.string()))
    return pa.concat_arrays(parts), bad


def iter_lines(path: str | Path, block_bytes: int = BLOCK_BYTES,
               ) -> Iterator[tuple[int, pa.StringArray, np.ndarray]]:
    """Yield ``(first_line_number, lines, bad_utf8)`` blocks of the physical lines of ``path``.

    ``lines`` is an Arrow string array of n lines without their line ends (``\\n``, ``\\r\\n``);
    ``bad_utf8`` is a boolean array (n,) marking lines that are not valid UTF-8 (their text is
    decoded with backslash escapes). A UTF-8 byte-order mark at the file start is skipped.
    """
    line_no = 1
    for i, (data, end) in enumerate(_raw_blocks(Path(path), block_bytes)):
        skip = 3 if i == 0 and data.startswith(b"\xef\xbb\xbf") else 0
        lines, bad = _decode_lines(data, end, skip)
        yield line_no, lines, bad
        line_no += len(lines)


# ---- vectorised validation helpers -------------------------------------------------------------


class _Reasons:
    """First failing check wins: a code per row, 0 = row is fine."""

    def __init__(self, n: int):
        self.codes = np.zeros(n, dtype=np.int16)
        self.names: list[str] = [""]

    def flag(self, mask, reason: str) -> None:
        mask = _np_bool(mask)
        if not mask.any():
            return
        if reason not in self.names:
            self.names.append(reason)
        code = self.names.index(reason)
        self.codes[mask & (self.codes == 0)] = code

    def set(self, idx: np.ndarray, reason: str) -> None:
        mask = np.zeros(len(self.codes), dtype=bool)
        mask[idx] = True
        self.flag(mask, reason)

    @property
    def ok(self) -> np.ndarray:
        return self.codes == 0

    def strings(self, idx: np.ndarray) -> pa.Array:
        names = np.array(self.names, dtype=object)
        return pa.array(names[self.codes[idx]], pa.string())


def _np_bool(mask) -> np.ndarray:
    if isinstance(mask, np.ndarray):
        return mask.astype(bool, copy=False)
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _fields(split: pa.ListArray, rows: np.ndarray, k: int) -> list[pa.Array]:
    """The k fields of the given rows of a split-lines list array (all rows have k fields)."""
    flat = pc.list_flatten(split.take(pa.array(rows, pa.int64())))
    m = len(rows)
    return [flat.take(pa.array(np.arange(i, m * k, k, dtype=np.int64))) for i in range(k)]


def parse_counts(values: pa.Array, reasons: _Reasons, what: str = "plays") -> np.ndarray:
    """Parse decimal integer strings as positive int32 play counts (surrounding blanks allowed).

    Flags (in ``reasons``) values that are not integers, negative, zero or above 2**31-1.
    Returns int64 array (n,) with 0 where flagged.
    """
    try:  # fast path: every value is a plain integer
        parsed = pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)
        ok = np.ones(len(parsed), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        t = pc.utf8_trim_whitespace(values)
        is_int = _np_bool(pc.match_substring_regex(t, r"^[+-]?[0-9]+$"))
        short = _np_bool(pc.less_equal(pc.utf8_length(t), 18))
        ok = is_int & short
        parsed = pc.cast(pc.if_else(pa.array(ok), t, pa.scalar("0")), pa.int64()).to_numpy()
        reasons.flag(~is_int, f"{what} not an integer")
        reasons.flag(is_int & ~short, f"{what} overflow (> 2147483647)")
    reasons.flag(parsed > INT32_MAX, f"{what} overflow (> 2147483647)")
    reasons.flag(parsed < 0, f"negative {what}")
    reasons.flag(ok & (parsed == 0), f"zero {what}")
    return np.where(reasons.ok, parsed, 0)


def _merge(reasons: _Reasons, sub: _Reasons, rows: np.ndarray) -> None:
    """Copy the reasons of a subset (rows = positions of the subset in the whole)."""
    for code, name in enumerate(sub.names[1:], start=1):
        reasons.set(rows[sub.codes == code], name)


def _empty(values: pa.Array) -> np.ndarray:
    """Null, empty or white-space-only values (n,) bool."""
    return (_np_bool(pc.equal(pc.utf8_length(values), 0)) | _np_bool(pc.utf8_is_space(values))
            | np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool))


def parse_iso_timestamps(values: pa.Array) -> pa.Array:
    """ISO-8601 strings -> timestamp[s, UTC]; unparseable values become null.

    Accepts ``2009-05-04T23:08:57Z`` (Last.fm), offsets (``+02:00``), a space instead of ``T``,
    no zone (taken as UTC) and plain dates.
    """
    t = pc.utf8_trim_whitespace(values)
    out = None
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d"):
        parsed = pc.strptime(t, format=fmt, unit="s", error_is_null=True)
        parsed = parsed.cast(pa.timestamp("s", tz="UTC")) if parsed.type.tz is None else \
            parsed.cast(pa.timestamp("s", tz="UTC"))
        out = parsed if out is None else pc.coalesce(out, parsed)
        if out.null_count == 0:
            break
    return out


# ---- the shared driver --------------------------------------------------------------------------


class _Layout:
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


def _listens_table(cols: dict[str, pa.Array], n: int) -> pa.Table:
    arrays = []
    for field in LISTENS_SCHEMA:
        col = cols.get(field.name)
        if col is None:
            col = pa.nulls(n, field.type) if field.name != "plays" else pa.array(np.ones(n, np.int32))
        arrays.append(col.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=LISTENS_SCHEMA)


def _check_wrong_format(path, fmt, checked, checked_bad, rejected, kept, force=False):
    if not force and checked_bad <= FORMAT_CHECK_FRACTION * checked:
        return
    first = rejected.filter(pc.not_equal(rejected.column("reason"), "blank line")).slice(0, 1)
    first_bad = first.to_pylist()[0] if first.num_rows else rejected.slice(0, 1).to_pylist()[0]
    what = ("no line can be read" if kept == 0 else
            f"{checked_bad} of the first {checked} non-blank lines cannot be read")
    raise FormatError(
        f"{path}: {what} as {fmt} (more than half rejected: wrong format?); first bad "
        f"line {first_bad['line']}: {first_bad['reason']}: {first_bad['raw'][:100]!r}. "
        f"Check input.format for this file."
    )


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


def _block_fields(data: bytes, end: int, skip: int, layout: _Layout, header: bool):
    """Cut one block of whole lines (``data[skip:end]``) into per-line checks and fields.

    Returns (n_lines, lines (string, with their '\\n'), pre-reasons (n,), rows (positions of the lines
    that reached ``validate``), fields (k arrays aligned with rows), odd-reasons as
    (positions, reason strings)).
    """
    buf, ends, offsets, binary = _line_view(data, end, skip)
    n = len(ends)
    try:
        strings = binary.cast(pa.string())
        bad_utf8 = np.zeros(n, dtype=bool)
    except pa.ArrowInvalid:
        strings, bad_utf8 = _decode_slowly(binary)
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
    pre.flag(lengths > MAX_LINE_CHARS, f"line too long (> {MAX_LINE_CHARS} bytes)")
    if header:
        pre.flag(np.arange(n) == 0, "header")
    fast_idx = np.flatnonzero(fast)
    fields = _csv_fields(data, offsets, binary, fast_idx, layout.k, layout.sep)
    rows = fast_idx
    odd_pos, odd_reasons = np.array([], dtype=np.int64), pa.array([], pa.string())
    slow_idx = np.flatnonzero(~fast & pre.ok)
    if len(slow_idx):
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
        rows = rows[order]
        take = pa.array(order, pa.int64())
        fields = [pa.concat_arrays([f, a]).take(take) for f, a in zip(fields, add_fields)]
        bad_odd = np.flatnonzero(~odd_r.ok)
        odd_pos, odd_reasons = slow_idx[odd[bad_odd]], odd_r.strings(bad_odd)
    return n, strings, pre, rows, fields, (odd_pos, odd_reasons)


def _run(path: Path, fmt: str, layout: _Layout, header: Callable[[str], None] | None = None,
         block_bytes: int = BLOCK_BYTES, extra_stats: dict | None = None,
         ) -> tuple[pa.Table, pa.Table, dict]:
    """Read ``path`` block by block: pre-checks (UTF-8, blank, length), fields (Arrow CSV for
    well-formed lines, split + ``layout.odd`` for the others), ``layout.validate``; collect
    listens, rejected lines and exact counts; stop on whole-file problems."""
    _check_file(path, fmt)
    listens, rejected = [], []
    counts: Counter = Counter()
    lines_total = header_lines = checked = checked_bad = crlf = 0
    line_no = 1
    progress = Progress(f"ingest {path.name}", total=path.stat().st_size, every=15.0)
    bytes_read = 0
    for i, (data, end) in enumerate(_raw_blocks(path, block_bytes)):
        bytes_read += end
        progress.update(bytes_read, f"(bytes; {line_no - 1:,} lines so far)")
        skip = 3 if i == 0 and data.startswith(b"\xef\xbb\xbf") else 0
        if data.find(b"\r\n", 0, end) >= 0:  # CRLF line ends: drop the CRs (CRLF files only)
            data = data[:end].replace(b"\r\n", b"\n")
            crlf += end - len(data)
            end = len(data)
        has_header = i == 0 and header is not None
        n, lines, pre, rows, fields, (odd_pos, odd_reasons) = _block_fields(data, end, skip, layout,
                                                                           has_header)
        numbers = np.arange(line_no, line_no + n, dtype=np.int64)
        line_no += n
        if has_header:
            header(pc.utf8_rtrim(lines[:1], characters="\r\n")[0].as_py())
            header_lines = 1
        lines_total += n - (1 if has_header else 0)
        cols, sub = layout.validate(fields)
        ok = sub.ok
        keep = pa.array(np.flatnonzero(ok), pa.int64())
        listens.append(_listens_table({k: v.take(keep) for k, v in cols.items()}, int(ok.sum())))
        # rejected: pre-checks, odd lines the layout could not recover, failed validation
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
        if rej.num_rows:
            vc = pc.value_counts(rej.column("reason")).flatten()
            counts.update(dict(zip(vc[0].to_pylist(), vc[1].to_pylist())))
        rejected.append(rej)
        if checked < FORMAT_CHECK_LINES:  # wrong-format heuristic on the first non-blank lines
            is_rej = np.zeros(n, dtype=bool)
            is_rej[rej_idx] = True
            nonblank = pre.codes != (pre.names.index("blank line") if "blank line" in pre.names else -1)
            if has_header:
                nonblank[0] = False
            look = np.flatnonzero(nonblank)[: FORMAT_CHECK_LINES - checked]
            checked += len(look)
            checked_bad += int(is_rej[look].sum())
            if checked >= FORMAT_CHECK_LINES:
                _check_wrong_format(path, fmt, checked, checked_bad, rejected[0],
                                    sum(t.num_rows for t in listens))
    listens_t = pa.concat_tables(listens)
    rejected_t = pa.concat_tables(rejected)
    kept_n = listens_t.num_rows
    if lines_total == 0:
        raise FormatError(f"{path}: file has only a header line, no data lines to read as {fmt}")
    if lines_total == counts.get("blank line", 0):
        raise FormatError(f"{path}: file has only blank lines, no data to read as {fmt}")
    if kept_n == 0 or checked_bad > FORMAT_CHECK_FRACTION * checked:
        _check_wrong_format(path, fmt, checked, checked_bad, rejected_t, kept_n, force=True)
    stats = {
        "file": str(path),
        "format": fmt,
        "lines": int(lines_total),
        "kept": int(kept_n),
        "rejected": int(rejected_t.num_rows),
        "rejected_by_reason": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "header_lines": header_lines,
        "crlf_lines": int(crlf),
    }
    stats.update(extra_stats or {})
    if stats["lines"] != stats["kept"] + stats["rejected"]:
        raise AssertionError(f"{path}: line accounting broken: {stats}")
    return listens_t, rejected_t, stats


# ---- Last.fm 1K ---------------------------------------------------------------------------------


def _recover_lastfm1k(fields: list[str]) -> list[str] | None:
    """Re-assemble a Last.fm-1K line with stray tabs inside the artist or track name.

    ``fields`` has more than 6 tab-separated parts: user, timestamp, artist MBID, artist name
    (a+1 parts), track MBID, track name (the rest). The split is recoverable when exactly one
    choice of ``a`` puts an empty-or-UUID value at the track-MBID position (MBIDs never hold
    tabs); the parts of each name are then joined with a single space. Otherwise None.
    """
    extra = len(fields) - 6
    if fields[2] and not _UUID_RE.match(fields[2]):
        return None
    fits = [a for a in range(extra + 1) if fields[4 + a] == "" or _UUID_RE.match(fields[4 + a])]
    if len(fits) != 1:
        return None
    a = fits[0]
    artist = " ".join(p for p in fields[3: 4 + a] if p.strip())
    track = " ".join(p for p in fields[5 + a:] if p.strip())
    return [fields[0], fields[1], fields[2], artist, fields[4 + a], track]


def _odd_lastfm1k(split: pa.ListArray, nf: np.ndarray):
    """Lines of the 1K file with a field count other than 6: fewer are rejected, more are
    recovered by :func:`_recover_lastfm1k` where unambiguous (looked at one by one: rare)."""
    reasons = _Reasons(len(nf))
    reasons.flag(nf < 6, "too few fields (expected 6 tab-separated)")
    pos, got, ambiguous = [], [], []
    more = np.flatnonzero(nf > 6)
    for i, parts in zip(more, split.take(pa.array(more, pa.int64())).to_pylist()):
        fixed = _recover_lastfm1k(parts)
        if fixed is None:
            ambiguous.append(i)
        else:
            pos.append(i)
            got.append(fixed)
    reasons.set(np.array(ambiguous, dtype=np.int64), "stray tabs, fields ambiguous")
    fields = [pa.array([g[j] for g in got], pa.string()) for j in range(6)]
    return fields, np.array(pos, dtype=np.int64), reasons


def _validate_lastfm1k(fields: list[pa.Array]):
    user, ts_text, _artist_mbid, artist, _track_mbid, track = fields
    ts = parse_iso_timestamps(ts_text)
    reasons = _Reasons(len(user))
    reasons.flag(_empty(user), "empty user")
    reasons.flag(_empty(ts_text), "empty timestamp")
    reasons.flag(ts.is_null(), "unparseable timestamp")
    reasons.flag(_empty(artist), "empty artist")
    track = pc.if_else(_empty_arr(track), pa.scalar(None, pa.string()), track)
    return {"user": user, "artist": artist, "track": track, "timestamp": ts}, reasons


def _empty_arr(values: pa.Array) -> pa.Array:
    return pa.array(_empty(values))


# ---- Last.fm 360K -------------------------------------------------------------------------------


def _validate_lastfm360k(fields: list[pa.Array]):
    user, _mbid, artist, plays_text = fields
    reasons = _Reasons(len(user))
    reasons.flag(_empty(user), "empty user")
    # a sha1 has 40 characters: only other user ids can be dates (saves a regex over all rows)
    other = np.flatnonzero(_np_bool(pc.not_equal(pc.utf8_length(user), 40)))
    date = np.zeros(len(user), dtype=bool)
    date[other] = _np_bool(pc.match_substring_regex(user.take(pa.array(other, pa.int64())), _MONTH_DATE))
    reasons.flag(date, "user id is a date (junk row)")
    reasons.flag(_empty(artist), "empty artist")
    plays = parse_counts(plays_text, reasons)
    return {"user": user, "artist": artist, "plays": pa.array(plays.astype(np.int32))}, reasons


# ---- MSD taste profile --------------------------------------------------------------------------


def read_msd_tracks(path: str | Path, block_bytes: int = BLOCK_BYTES) -> tuple[pa.Table, dict]:
    """Read MSD ``unique_tracks.txt`` (track id<SEP>song id<SEP>artist<SEP>title).

    Returns (table ``song_id, artist, title`` with one row per song id, the first line wins;
    stats of the side file with ``lines == kept + rejected + duplicates``).
    """
    path = Path(path)
    _check_file(path, "MSD unique_tracks.txt")
    parts, counts, lines_n = [], Counter(), 0
    for _first, lines, bad in iter_lines(path, block_bytes):
        lines_n += len(lines)
        split = pc.split_pattern(lines, "<SEP>")
        nf = split.value_lengths().to_numpy(zero_copy_only=False)
        r = _Reasons(len(lines))
        r.flag(bad, "invalid UTF-8")
        r.flag(pc.match_substring_regex(lines, r"^\s*$"), "blank line")
        r.flag(nf != 4, "expected 4 <SEP>-separated fields")
        rows = np.flatnonzero(r.ok)
        _tid, song, artist, title = _fields(split, rows, 4)
        sub = _Reasons(len(rows))
        sub.flag(_empty(song), "empty song id")
        _merge(r, sub, rows)
        counts.update(Counter(r.strings(np.flatnonzero(~r.ok)).to_pylist()))
        keep = pa.array(np.flatnonzero(sub.ok), pa.int64())
        parts.append(pa.table({"song_id": song.take(keep), "artist": artist.take(keep),
                               "title": title.take(keep)}))
    table = pa.concat_tables(parts).combine_chunks()
    n_valid = table.num_rows
    # one row per song id, the first occurrence wins (deterministic, in file order)
    songs = table.column("song_id")
    first = pc.index_in(pc.unique(songs), value_set=songs)
    table = table.take(first)
    stats = {"file": str(path), "lines": lines_n, "kept": table.num_rows,
             "rejected": int(sum(counts.values())), "duplicates": n_valid - table.num_rows,
             "rejected_by_reason": dict(counts)}
    return table, stats


def _validate_msd(fields: list[pa.Array], tracks: pa.Table | None):
    user, song, plays_text = fields
    reasons = _Reasons(len(user))
    reasons.flag(_empty(user), "empty user")
    reasons.flag(_empty(song), "empty song id")
    plays = parse_counts(plays_text, reasons)
    if tracks is not None:
        pos = pc.index_in(song, value_set=tracks.column("song_id"))
        reasons.flag(pos.is_null(), "song id not in tracks file")
        pos = pc.fill_null(pos, 0)
        artist = tracks.column("artist").combine_chunks().take(pos)
        track = tracks.column("title").combine_chunks().take(pos)
        reasons.flag(_empty(artist), "empty artist in tracks file")
        track = pc.if_else(_empty_arr(track), pa.scalar(None, pa.string()), track)
    else:  # no names: every song is its own item, named by its id (artist entity only)
        artist, track = song, pa.nulls(len(song), pa.string())
    return {"user": user, "artist": artist, "track": track,
            "plays": pa.array(plays.astype(np.int32))}, reasons


# ---- HetRec 2011 Last.fm 2K ---------------------------------------------------------------------

HETREC_HEADER = ["userID", "artistID", "weight"]


def read_hetrec_artists(path: str | Path) -> tuple[pa.Table, dict]:
    """Read HetRec ``artists.dat`` (header ``id name url pictureURL``, tab separated).

    The file mixes UTF-8 and Latin-1 in the wild: lines that are not valid UTF-8 are decoded as
    Latin-1 (counted in ``stats["latin1_lines"]``). Returns (table ``id, name``, first id wins;
    stats).
    """
    path = Path(path)
    _check_file(path, "HetRec artists.dat")
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    ids, names, counts, latin1, seen = [], [], Counter(), 0, set()
    # 17,632 lines: a Python loop is fast enough and handles the mixed encodings line by line
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for i, bline in enumerate(lines):
        try:
            line = bline.decode("utf-8")
        except UnicodeDecodeError:
            line, latin1 = bline.decode("latin-1"), latin1 + 1
        line = line.rstrip("\r")
        if i == 0:
            if line.split("\t")[:2] != ["id", "name"]:
                raise FormatError(f"{path}: line 1: expected header 'id\\tname\\turl\\tpictureURL', "
                                  f"found {line[:80]!r}")
            continue
        parts = line.split("\t")
        if not line.strip():
            counts["blank line"] += 1
        elif len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
            counts["missing id or name"] += 1
        elif parts[0].strip() in seen:
            counts["duplicate id"] += 1
        else:
            seen.add(parts[0].strip())
            ids.append(parts[0].strip())
            # url and pictureURL are the last two fields; a tab inside the name joins back
            names.append(" ".join(parts[1:-2]) if len(parts) > 4 else parts[1])
    stats = {"file": str(path), "lines": len(lines) - 1, "kept": len(ids),
             "rejected": int(sum(counts.values())), "latin1_lines": latin1,
             "rejected_by_reason": dict(counts)}
    return pa.table({"id": pa.array(ids, pa.string()), "name": pa.array(names, pa.string())}), stats


def _hetrec_header(path: Path) -> Callable[[str], None]:
    def check(line: str) -> None:
        if line.strip().split() != HETREC_HEADER:
            raise FormatError(f"{path}: line 1: expected header {' '.join(HETREC_HEADER)!r} "
                              f"(tab separated), found {line[:80]!r}")
    return check


def _validate_hetrec(fields: list[pa.Array], artists: pa.Table | None):
    user, artist_id, weight = (pc.utf8_trim_whitespace(f) for f in fields)
    reasons = _Reasons(len(user))
    reasons.flag(_empty(user), "empty user")
    reasons.flag(_empty(artist_id), "empty artist id")
    plays = parse_counts(weight, reasons, what="weight")
    if artists is not None:
        pos = pc.index_in(artist_id, value_set=artists.column("id"))
        reasons.flag(pos.is_null(), "artist id not in artists file")
        artist = artists.column("name").combine_chunks().take(pc.fill_null(pos, 0))
    else:  # without artists.dat the id is the name
        artist = artist_id
    return {"user": user, "artist": artist, "plays": pa.array(plays.astype(np.int32))}, reasons


# ---- generic CSV / TSV / Parquet ---------------------------------------------------------------

CANONICAL_COLUMNS = ("user", "artist", "track", "timestamp", "plays")


def _is_parquet(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"PAR1"


def _generic_columns(path: Path, names: list[str], columns: dict, header: bool) -> dict[str, int]:
    """Position of each mapped canonical column in the file's columns (errors name the key)."""
    where = {}
    for key in CANONICAL_COLUMNS:
        name = columns.get(key)
        if name is None:
            if key in ("user", "artist"):
                raise FormatError(f"input.generic.columns.{key}: required (file {path})")
            continue
        if header:
            if name not in names:
                raise FormatError(f"{path}: line 1: no column {name!r} (input.generic.columns.{key}); "
                                  f"the header has {names}")
            where[key] = names.index(name)
        else:
            if not str(name).isdigit() or int(name) >= len(names):
                raise FormatError(f"input.generic.columns.{key}: {name!r} is not a 0-based column "
                                  f"position < {len(names)} of {path} (header: false)")
            where[key] = int(name)
    return where


def _to_strings(col: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Binary/any column -> string column + mask of invalid UTF-8 values."""
    if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
        try:
            return col.cast(pa.string()), np.zeros(len(col), bool)
        except pa.ArrowInvalid:
            s, bad = _decode_slowly(col.cast(pa.binary()))
            return s, bad
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return col.cast(pa.string()), np.zeros(len(col), bool)
    return col.cast(pa.string()), np.zeros(len(col), bool)


def _generic_values(cols: dict[str, pa.Array], unit: str, reasons: _Reasons,
                    ) -> dict[str, pa.Array]:
    """Validate mapped generic columns (any Arrow types) into canonical columns."""
    out = {}
    for key in ("user", "artist"):
        s, _ = _to_strings(cols[key])
        reasons.flag(_empty(s), f"empty {key}")
        out[key] = pc.utf8_trim_whitespace(s)
    if "track" in cols:
        s, _ = _to_strings(cols["track"])
        out["track"] = pc.if_else(_empty_arr(s), pa.scalar(None, pa.string()), s)
    if "timestamp" in cols:
        t = cols["timestamp"]
        if pa.types.is_timestamp(t.type):
            ts = t.cast(pa.timestamp("s", tz=t.type.tz)) if t.type.tz else t.cast(pa.timestamp("s"))
            ts = ts.cast(pa.timestamp("s", tz="UTC"))
        else:
            s, _ = _to_strings(t)
            if unit == "iso":
                ts = parse_iso_timestamps(s)
            else:
                ok = _np_bool(pc.match_substring_regex(pc.utf8_trim_whitespace(s), r"^-?[0-9]{1,15}$"))
                num = pc.cast(pc.if_else(pa.array(ok), pc.utf8_trim_whitespace(s), pa.scalar("0")),
                              pa.int64()).to_numpy()
                secs = num // 1000 if unit == "ms" else num
                ts = pa.array(np.where(ok, secs, 0).astype("datetime64[s]"), mask=~ok) \
                    .cast(pa.timestamp("s", tz="UTC"))
            reasons.flag(_empty(s), "empty timestamp")
        reasons.flag(ts.is_null(), "unparseable timestamp")
        out["timestamp"] = ts
    if "plays" in cols:
        p = cols["plays"]
        if pa.types.is_integer(p.type):
            p = p.cast(pa.string())
        elif pa.types.is_floating(p.type):
            v = p.to_numpy(zero_copy_only=False)
            p = pa.array([str(int(x)) if np.isfinite(x) and x == int(x) else str(x) for x in v])
        s, _ = _to_strings(p)
        out["plays"] = pa.array(parse_counts(s, reasons).astype(np.int32))
    return out


def _read_generic_parquet(path: Path, generic: dict) -> tuple[pa.Table, pa.Table, dict]:
    table = pq.read_table(path)
    where = _generic_columns(path, table.column_names, generic.get("columns") or {}, True)
    n = table.num_rows
    if n == 0:
        raise FormatError(f"{path}: Parquet file has no rows")
    cols = {k: table.column(i).combine_chunks() for k, i in where.items()}
    reasons = _Reasons(n)
    values = _generic_values(cols, generic.get("timestamp_unit", "iso"), reasons)
    ok = reasons.ok
    keep = pa.array(np.flatnonzero(ok), pa.int64())
    listens = _listens_table({k: v.take(keep) for k, v in values.items()}, int(ok.sum()))
    bad = np.flatnonzero(~ok)
    raw_cols = [_to_strings(cols[k].take(pa.array(bad, pa.int64())))[0] for k in where]
    raw = pc.binary_join_element_wise(*[pc.fill_null(c, "") for c in raw_cols], "\t") \
        if len(bad) else pa.array([], pa.string())
    rejected = pa.table({"line": pa.array(bad + 1, pa.int64()), "raw": raw,
                         "reason": reasons.strings(bad)}, schema=REJECTED_SCHEMA)
    return listens, rejected, _stats(path, "generic", n, listens, rejected, 0,
                                     {"line_numbers": "1-based Parquet row numbers"})


def _stats(path, fmt, lines, listens, rejected, header_lines, extra=None) -> dict:
    counts = Counter(rejected.column("reason").to_pylist())
    stats = {"file": str(path), "format": fmt, "lines": int(lines), "kept": listens.num_rows,
             "rejected": rejected.num_rows,
             "rejected_by_reason": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
             "header_lines": header_lines}
    stats.update(extra or {})
    if stats["lines"] != stats["kept"] + stats["rejected"]:
        raise AssertionError(f"{path}: line accounting broken: {stats}")
    return stats


def _read_generic_csv(path: Path, generic: dict) -> tuple[pa.Table, pa.Table, dict]:
    sep = generic.get("sep", ",")
    sep = "\t" if sep in ("\\t", "tab") else sep
    if len(sep) != 1:
        raise FormatError(f"input.generic.sep: must be one character, got {sep!r}")
    header = bool(generic.get("header", True))
    _check_file(path, "generic")
    with open(path, "rb") as f:
        first = f.readline().removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").rstrip("\r\n")
    if not first.strip():
        raise FormatError(f"{path}: line 1 is blank; expected {'a header' if header else 'data'}")
    names = next(csv.reader([first], delimiter=sep))
    where = _generic_columns(path, names, generic.get("columns") or {}, header)
    col_names = names if header else [f"f{i}" for i in range(len(names))]
    if len(set(col_names)) != len(col_names):
        raise FormatError(f"{path}: line 1: duplicate column names in header {names}")
    invalid: list[tuple[int, str]] = []

    def on_invalid(row) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=False, column_names=col_names,
                                       skip_rows=1 if header else 0),
        parse_options=pacsv.ParseOptions(delimiter=sep, invalid_row_handler=on_invalid,
                                         ignore_empty_lines=False, newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.binary() for c in col_names},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    header_lines = 1 if header else 0
    n_rows = table.num_rows
    total = n_rows + len(invalid)
    if total == 0:
        raise FormatError(f"{path}: file has only a header line, no data lines")
    inv_numbers = np.array([num for num, _ in invalid], dtype=np.int64)
    all_numbers = np.arange(header_lines + 1, header_lines + 1 + total, dtype=np.int64)
    numbers = np.setdiff1d(all_numbers, inv_numbers)
    strs = {}
    bad_utf8 = np.zeros(n_rows, bool)
    for c in col_names:
        s, bad = _to_strings(table.column(c).combine_chunks())
        strs[c], bad_utf8 = s, bad_utf8 | bad
    reasons = _Reasons(n_rows)
    blank = np.ones(n_rows, bool)
    for c in col_names:
        blank &= _empty(strs[c])
    reasons.flag(bad_utf8, "invalid UTF-8")
    reasons.flag(blank, "blank line")
    values = _generic_values({k: strs[col_names[i]] for k, i in where.items()},
                             generic.get("timestamp_unit", "iso"), reasons)
    ok = reasons.ok
    keep = pa.array(np.flatnonzero(ok), pa.int64())
    listens = _listens_table({k: v.take(keep) for k, v in values.items()}, int(ok.sum()))
    bad = np.flatnonzero(~ok)
    take = pa.array(bad, pa.int64())
    raw = pc.binary_join_element_wise(*[pc.fill_null(strs[c].take(take), "") for c in col_names], sep) \
        if len(bad) else pa.array([], pa.string())
    rejected = pa.concat_tables([
        pa.table({"line": pa.array(numbers[bad], pa.int64()), "raw": raw,
                  "reason": reasons.strings(bad)}, schema=REJECTED_SCHEMA),
        pa.table({"line": pa.array(inv_numbers, pa.int64()),
                  "raw": pa.array([t for _, t in invalid], pa.string()),
                  "reason": pa.array([f"wrong number of fields (expected {len(col_names)})"] * len(invalid),
                                     pa.string())}, schema=REJECTED_SCHEMA),
    ]).sort_by("line")
    stats = _stats(path, "generic", total, listens, rejected, header_lines)
    if listens.num_rows == 0 or rejected.num_rows > FORMAT_CHECK_FRACTION * total:
        first_bad = rejected.slice(0, 1).to_pylist()[0]
        raise FormatError(f"{path}: {rejected.num_rows} of {total} lines cannot be read with "
                          f"input.generic (more than half: wrong separator or columns?); first bad "
                          f"line {first_bad['line']}: {first_bad['reason']}: {first_bad['raw'][:100]!r}")
    return listens, rejected, stats


# ---- entry point --------------------------------------------------------------------------------


def load_listens(path: str | Path) -> pa.Table:
    """Read ``data/listens.parquet`` back with exactly :data:`LISTENS_SCHEMA`.

    Parquet has no second-resolution timestamps: a ``timestamp[s]`` column is stored as
    milliseconds and reads back as ``timestamp[ms, UTC]``. This casts it (and every other column)
    back to the canonical types, so ``timestamp.cast(int64)`` gives Unix seconds again.
    """
    return pq.read_table(path).select(LISTENS_SCHEMA.names).cast(LISTENS_SCHEMA)




def read_listens(fmt: str, path: str | Path, tracks_path: str | Path | None = None,
                 generic: dict | None = None, block_bytes: int = BLOCK_BYTES,
                 ) -> tuple[pa.Table, pa.Table, dict]:
    """Read a raw listening log into canonical listens.

    Parameters
    ----------
    fmt : one of :data:`FORMATS`.
    path : the raw file (Last.fm TSV, MSD ``train_triplets.txt``, HetRec ``user_artists.dat``,
        or a CSV/TSV/Parquet file for ``generic``).
    tracks_path : optional side file with names: MSD ``unique_tracks.txt`` (song id -> artist,
        title) or HetRec ``artists.dat`` (artist id -> name). Without it, MSD songs are their own
        artists (named by song id, no track) and HetRec artists are named by their id.
    generic : for ``generic``: ``sep``, ``header``, ``columns`` (canonical -> file column),
        ``timestamp_unit`` (as in config ``input.generic``).
    block_bytes : bytes read per block (memory bound).

    Returns
    -------
    listens : pa.Table with :data:`LISTENS_SCHEMA`, one row per kept line, in file order.
    rejected : pa.Table with :data:`REJECTED_SCHEMA`, one row per rejected line, by line.
    stats : dict with ``file, format, lines, kept, rejected, rejected_by_reason, header_lines``
        (``lines == kept + rejected``) plus format-specific counts.

    Raises
    ------
    FormatError : a whole-file problem, with the file (and line) in the message.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise FormatError(f"input.format: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "lastfm-1k":
        recovered: list[int] = []

        def odd(split, nf):
            fields, pos, reasons = _odd_lastfm1k(split, nf)
            recovered.append(len(pos))
            return fields, pos, reasons

        listens, rejected, stats = _run(path, fmt, _Layout(6, _validate_lastfm1k, odd),
                                        block_bytes=block_bytes)
        stats["recovered_stray_tabs"] = int(sum(recovered))
        return listens, rejected, stats
    if fmt == "lastfm-360k":
        return _run(path, fmt, _Layout(4, _validate_lastfm360k), block_bytes=block_bytes)
    if fmt == "msd-triplets":
        tracks, extra = None, {}
        if tracks_path:
            tracks, tstats = read_msd_tracks(tracks_path, block_bytes)
            extra = {"tracks": tstats}
            log.info("%s: %d songs with names (%d lines rejected, %d duplicate song ids)",
                     tracks_path, tstats["kept"], tstats["rejected"], tstats["duplicates"])
        else:
            log.warning("%s: no MSD tracks file (input.tracks_path): each song id stands in as its "
                        "own artist, tracks are null (use entities: [artist])", path)
        return _run(path, fmt, _Layout(3, lambda f: _validate_msd(f, tracks)),
                    block_bytes=block_bytes, extra_stats=extra)
    if fmt == "hetrec-2k":
        artists, extra = None, {}
        if tracks_path:
            artists, astats = read_hetrec_artists(tracks_path)
            extra = {"artists": astats}
        else:
            log.warning("%s: no HetRec artists.dat (input.tracks_path): artists are named by id", path)
        return _run(path, fmt, _Layout(3, lambda f: _validate_hetrec(f, artists)),
                    header=_hetrec_header(path), block_bytes=block_bytes, extra_stats=extra)
    # generic
    _check_file(path, "generic", text=False)
    if _is_parquet(path):
        return _read_generic_parquet(path, generic or {})
    _check_file(path, "generic")
    return _read_generic_csv(path, generic or {})
