"""What every reader shares: the canonical schemas, the error type, limits, per-row reasons and
the value parsers (play counts, ISO timestamps)."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Canonical listens (docs/results.md, ``data/listens.parquet``). user, artist and plays are never
#: null in ingest's output; the fields stay nullable so tables built elsewhere concatenate without casts.
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
#: The one grammar of a count (after trimming blanks): an optional sign, ASCII digits. The digits
#: the pattern captures (leading zeros dropped) are what is converted: what passes is what is read.
_COUNT = r"^(?P<sign>[+-]?)0*(?P<digits>[0-9]+)$"


class FormatError(ValueError):
    """A whole-file problem: the message names the file (and the line where it helps)."""


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
        return pa.array(self.names, pa.string()).take(pa.array(self.codes[idx], pa.int16()))


def _np_bool(mask) -> np.ndarray:
    if isinstance(mask, np.ndarray):
        return mask.astype(bool, copy=False)
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _fields(split: pa.ListArray, rows: np.ndarray, k: int) -> list[pa.Array]:
    """The k fields of the given rows of a split-lines list array (all rows have k fields)."""
    flat = pc.list_flatten(split.take(pa.array(rows, pa.int64())))
    m = len(rows)
    return [flat.take(pa.array(np.arange(i, m * k, k, dtype=np.int64))) for i in range(k)]


def _merge(reasons: _Reasons, sub: _Reasons, rows: np.ndarray) -> None:
    """Copy the reasons of a subset (rows = positions of the subset in the whole)."""
    for code, name in enumerate(sub.names[1:], start=1):
        reasons.set(rows[sub.codes == code], name)


def _empty(values: pa.Array) -> np.ndarray:
    """Null, empty or white-space-only values (n,) bool."""
    return (_np_bool(pc.equal(pc.utf8_length(values), 0)) | _np_bool(pc.utf8_is_space(values))
            | np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool))


def _empty_arr(values: pa.Array) -> pa.Array:
    return pa.array(_empty(values))


def _null_if_empty(values: pa.Array) -> pa.Array:
    """Empty or blank names -> null (e.g. a missing track name)."""
    return pc.if_else(_empty_arr(values), pa.scalar(None, pa.string()), values)


def parse_counts(values: pa.Array, reasons: _Reasons, what: str = "plays") -> np.ndarray:
    """Parse decimal integer strings as positive int32 play counts.

    One grammar both checks and converts (:data:`_COUNT`): surrounding blanks, an optional sign
    and ASCII digits 0-9. ``+5`` is 5; ``0x10``, ``1e3``, ``12.5``, ``1_000`` and non-ASCII
    digits are not integers. Flags (in ``reasons``) values that are not integers, negative, zero
    or above 2**31-1. Returns int64 array (n,) with 0 where flagged.

    >>> r = _Reasons(4)
    >>> parse_counts(pa.array(["7", " +5 ", "0x10", "-3"]), r).tolist()
    [7, 5, 0, 0]
    >>> r.strings(np.arange(4)).to_pylist()
    ['', '', 'plays not an integer', 'negative plays']
    """
    parsed = None
    if len(values) and pc.all(pc.ascii_is_decimal(values)).as_py():  # fast path: digits only
        try:
            parsed = pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)
            ok = np.ones(len(parsed), dtype=bool)
        except pa.ArrowInvalid:  # more digits than int64 holds: the general path says so
            parsed = None
    if parsed is None:
        match = pc.extract_regex(pc.utf8_trim_whitespace(values), _COUNT)
        digits = match.field("digits")
        is_int = _np_bool(match.is_valid())
        ok = is_int & _np_bool(pc.less_equal(pc.utf8_length(digits), 18))
        parsed = pc.cast(pc.if_else(pa.array(ok), digits, pa.scalar("0")), pa.int64()).to_numpy()
        parsed = np.where(_np_bool(pc.equal(match.field("sign"), "-")), -parsed, parsed)
        reasons.flag(~is_int, f"{what} not an integer")
        reasons.flag(is_int & ~ok, f"{what} overflow (> 2147483647)")
    reasons.flag(parsed > INT32_MAX, f"{what} overflow (> 2147483647)")
    reasons.flag(parsed < 0, f"negative {what}")
    reasons.flag(ok & (parsed == 0), f"zero {what}")
    return np.where(reasons.ok, parsed, 0)


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
        parsed = parsed.cast(pa.timestamp("s", tz="UTC"))
        out = parsed if out is None else pc.coalesce(out, parsed)
        if out.null_count == 0:
            break
    return out


def _listens_table(cols: dict[str, pa.Array], n: int) -> pa.Table:
    """Canonical listens from the columns a reader has (missing: null, plays 1)."""
    arrays = []
    for field in LISTENS_SCHEMA:
        col = cols.get(field.name)
        if col is None:
            col = pa.nulls(n, field.type) if field.name != "plays" else pa.array(np.ones(n, np.int32))
        arrays.append(col.cast(field.type))
    return pa.Table.from_arrays(arrays, schema=LISTENS_SCHEMA)


def _kept_and_rejected(values: dict[str, pa.Array], reasons: _Reasons, numbers: np.ndarray,
                       raw) -> tuple[pa.Table, pa.Table]:
    """Split validated rows into listens (reasons ok) and rejected rows (line number, raw text
    from ``raw(bad_positions)``, reason), both in row order."""
    ok = reasons.ok
    keep = pa.array(np.flatnonzero(ok), pa.int64())
    listens = _listens_table({k: v.take(keep) for k, v in values.items()}, int(ok.sum()))
    bad = np.flatnonzero(~ok)
    rejected = pa.table({"line": pa.array(numbers[bad], pa.int64()), "raw": raw(bad),
                         "reason": reasons.strings(bad)}, schema=REJECTED_SCHEMA)
    return listens, rejected


def _stats(path, fmt, lines, listens, rejected, header_lines, extra=None) -> dict:
    """The stats of a read (``lines == kept + rejected`` is checked)."""
    counts = Counter(rejected.column("reason").to_pylist())
    return _stats_from_counts(path, fmt, lines, listens.num_rows, rejected.num_rows, counts,
                              header_lines, extra)


def _stats_from_counts(path, fmt, lines, kept, rejected, counts, header_lines, extra=None) -> dict:
    stats = {"file": str(path), "format": fmt, "lines": int(lines), "kept": int(kept),
             "rejected": int(rejected),
             "rejected_by_reason": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
             "header_lines": header_lines}
    stats.update(extra or {})
    if stats["lines"] != stats["kept"] + stats["rejected"]:
        raise AssertionError(f"{path}: line accounting broken: {stats}")
    return stats
