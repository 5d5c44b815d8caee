"""Generic CSV / TSV / Parquet with a column mapping (config ``input.generic``).

CSV/TSV go through ``pyarrow.csv``, with standard quoting unless ``quoting: false`` (every value
read as bytes, then checked like the other formats); rows with a wrong field count are rejected
with their line number. Parquet rows are numbered from 1. Compressed CSV/TSV and archive members are read as
:mod:`tastemap.data.formats.source` says; a Parquet file must be given as it is.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tastemap.data.formats.base import (
    FORMAT_CHECK_FRACTION,
    REJECTED_SCHEMA,
    FormatError,
    _empty,
    _kept_and_rejected,
    _np_bool,
    _null_if_empty,
    _Reasons,
    _stats,
    parse_counts,
    parse_iso_timestamps,
)
from tastemap.data.formats.lines import _decode_slowly
from tastemap.data.formats.registry import Format, register
from tastemap.data.formats.source import check_file, open_input

CANONICAL_COLUMNS = ("user", "artist", "track", "timestamp", "plays")


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
            return _decode_slowly(col.cast(pa.binary()))
    return col.cast(pa.string()), np.zeros(len(col), bool)


def _timestamps(t: pa.Array, unit: str, reasons: _Reasons) -> pa.Array:
    """A mapped timestamp column (Arrow timestamps, ISO text or Unix s / ms) -> timestamp[s, UTC]."""
    if pa.types.is_timestamp(t.type):
        ts = t.cast(pa.timestamp("s", tz=t.type.tz)) if t.type.tz else t.cast(pa.timestamp("s"))
        ts = ts.cast(pa.timestamp("s", tz="UTC"))
    else:
        s, _ = _to_strings(t)
        if unit == "iso":
            ts = parse_iso_timestamps(s)
        else:
            trimmed = pc.utf8_trim_whitespace(s)
            ok = _np_bool(pc.match_substring_regex(trimmed, r"^-?[0-9]{1,15}$"))
            num = pc.cast(pc.if_else(pa.array(ok), trimmed, pa.scalar("0")), pa.int64()).to_numpy()
            secs = num // 1000 if unit == "ms" else num
            ts = pa.array(np.where(ok, secs, 0).astype("datetime64[s]"), mask=~ok) \
                .cast(pa.timestamp("s", tz="UTC"))
        reasons.flag(_empty(s), "empty timestamp")
    reasons.flag(ts.is_null(), "unparseable timestamp")
    return ts


def _plays(p: pa.Array, reasons: _Reasons) -> pa.Array:
    """A mapped plays column (integers, floats or text) -> int32, checked by ``parse_counts``."""
    if pa.types.is_integer(p.type):
        p = p.cast(pa.string())
    elif pa.types.is_floating(p.type):
        v = p.to_numpy(zero_copy_only=False)
        p = pa.array([str(int(x)) if np.isfinite(x) and x == int(x) else str(x) for x in v])
    s, _ = _to_strings(p)
    return pa.array(parse_counts(s, reasons).astype(np.int32))


def _generic_values(cols: dict[str, pa.Array], unit: str, reasons: _Reasons,
                    ) -> dict[str, pa.Array]:
    """Validate mapped generic columns (any Arrow types) into canonical columns."""
    out = {}
    for key in ("user", "artist"):
        s, _ = _to_strings(cols[key])
        reasons.flag(_empty(s), f"empty {key}")
        out[key] = pc.utf8_trim_whitespace(s)
    if "track" in cols:
        out["track"] = _null_if_empty(_to_strings(cols["track"])[0])
    if "timestamp" in cols:
        out["timestamp"] = _timestamps(cols["timestamp"], unit, reasons)
    if "plays" in cols:
        out["plays"] = _plays(cols["plays"], reasons)
    return out


def _read_parquet(path: Path, generic: dict) -> tuple[pa.Table, pa.Table, dict]:
    table = pq.read_table(path)
    where = _generic_columns(path, table.column_names, generic.get("columns") or {}, True)
    n = table.num_rows
    if n == 0:
        raise FormatError(f"{path}: Parquet file has no rows")
    cols = {k: table.column(i).combine_chunks() for k, i in where.items()}
    reasons = _Reasons(n)
    values = _generic_values(cols, generic.get("timestamp_unit", "iso"), reasons)

    def raw(bad):
        if not len(bad):
            return pa.array([], pa.string())
        parts = [_to_strings(cols[k].take(pa.array(bad, pa.int64())))[0] for k in where]
        return pc.binary_join_element_wise(*[pc.fill_null(c, "") for c in parts], "\t")

    listens, rejected = _kept_and_rejected(values, reasons, np.arange(1, n + 1), raw)
    return listens, rejected, _stats(path, "generic", n, listens, rejected, 0,
                                     {"line_numbers": "1-based Parquet row numbers",
                                      "compression": None, "member": None})


def _first_fields(source, sep: str, quoting: bool, header: bool) -> list[str]:
    """The fields of line 1 of an open CSV/TSV (the header, or the first data line), without
    consuming the stream."""
    first = source.stream.peek(1 << 20).split(b"\n", 1)[0]
    first = first.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").rstrip("\r")
    if not first.strip():
        raise FormatError(f"{source.label}: line 1 is blank; expected "
                          f"{'a header' if header else 'data'}")
    return next(csv.reader([first], delimiter=sep,
                           quoting=csv.QUOTE_MINIMAL if quoting else csv.QUOTE_NONE))


def _csv_table(source, sep: str, header: bool, generic: dict, quoting: bool = True):
    """The CSV/TSV as binary columns, the rows the reader could not split (number, text), the
    column names and the mapped positions."""
    names = _first_fields(source, sep, quoting, header)
    where = _generic_columns(source.label, names, generic.get("columns") or {}, header)
    col_names = names if header else [f"f{i}" for i in range(len(names))]
    if len(set(col_names)) != len(col_names):
        raise FormatError(f"{source.label}: line 1: duplicate column names in header {names}")
    invalid: list[tuple[int, str]] = []

    def on_invalid(row) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    stream = source.path if source.compression is None else pa.py_buffer(source.stream.read())
    table = pacsv.read_csv(
        stream if isinstance(stream, Path) else pa.BufferReader(stream),
        read_options=pacsv.ReadOptions(use_threads=False, column_names=col_names,
                                       skip_rows=1 if header else 0),
        parse_options=pacsv.ParseOptions(delimiter=sep, quote_char='"' if quoting else False,
                                         invalid_row_handler=on_invalid,
                                         ignore_empty_lines=False, newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.binary() for c in col_names},
                                             strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    return table, invalid, col_names, where


def _csv_reasons(table: pa.Table, col_names: list[str]) -> tuple[dict, _Reasons]:
    """String columns of the CSV and the line-level reasons (invalid UTF-8, blank line)."""
    strs, bad_utf8 = {}, np.zeros(table.num_rows, bool)
    for c in col_names:
        s, bad = _to_strings(table.column(c).combine_chunks())
        strs[c], bad_utf8 = s, bad_utf8 | bad
    reasons = _Reasons(table.num_rows)
    blank = np.ones(table.num_rows, bool)
    for c in col_names:
        blank &= _empty(strs[c])
    reasons.flag(bad_utf8, "invalid UTF-8")
    reasons.flag(blank, "blank line")
    return strs, reasons


def _read_csv(path: Path, generic: dict) -> tuple[pa.Table, pa.Table, dict]:
    sep = generic.get("sep", ",")
    sep = "\t" if sep in ("\\t", "tab") else sep
    if len(sep) != 1:
        raise FormatError(f"input.generic.sep: must be one character, got {sep!r}")
    header = bool(generic.get("header", True))
    with open_input(path, "generic") as source:
        table, invalid, col_names, where = _csv_table(source, sep, header, generic,
                                                      bool(generic.get("quoting", True)))
        label, describe = source.label, source.describe()
    header_lines, total = int(header), table.num_rows + len(invalid)
    if total == 0:
        raise FormatError(f"{label}: file has only a header line, no data lines")
    inv_numbers = np.array([num for num, _ in invalid], dtype=np.int64)
    numbers = np.setdiff1d(np.arange(header_lines + 1, header_lines + 1 + total, dtype=np.int64),
                           inv_numbers)
    strs, reasons = _csv_reasons(table, col_names)
    values = _generic_values({k: strs[col_names[i]] for k, i in where.items()},
                             generic.get("timestamp_unit", "iso"), reasons)

    def raw(bad):
        take = pa.array(bad, pa.int64())
        return pc.binary_join_element_wise(*[pc.fill_null(strs[c].take(take), "") for c in col_names],
                                           sep) if len(bad) else pa.array([], pa.string())

    listens, rejected = _kept_and_rejected(values, reasons, numbers, raw)
    wrong = f"wrong number of fields (expected {len(col_names)})"
    rejected = pa.concat_tables([rejected, pa.table({
        "line": pa.array(inv_numbers, pa.int64()), "raw": pa.array([t for _, t in invalid], pa.string()),
        "reason": pa.array([wrong] * len(invalid), pa.string())}, schema=REJECTED_SCHEMA)]).sort_by("line")
    stats = _stats(path, "generic", total, listens, rejected, header_lines, describe)
    if listens.num_rows == 0 or rejected.num_rows > FORMAT_CHECK_FRACTION * total:
        first_bad = rejected.slice(0, 1).to_pylist()[0]
        raise FormatError(f"{label}: {rejected.num_rows} of {total} lines cannot be read with "
                          f"input.generic (more than half: wrong separator or columns?); first bad "
                          f"line {first_bad['line']}: {first_bad['reason']}: {first_bad['raw'][:100]!r}")
    return listens, rejected, stats


def read(path: Path, generic: dict | None = None, *, tracks_path=None,
         block_bytes=None) -> tuple[pa.Table, pa.Table, dict]:
    """Read a generic CSV/TSV (plain, compressed or in an archive) or Parquet file with the
    options ``generic`` (config ``input.generic``); the whole file at once (no side file, no
    block size)."""
    check_file(path, "generic")
    with open(path, "rb") as f:
        parquet = f.read(4) == b"PAR1"
    if parquet:
        return _read_parquet(path, generic or {})
    return _read_csv(path, generic or {})


def read_new_listens(path: str | Path) -> pa.Table:
    """The listening rows of new users (``tastemap place-users --listens``,
    ``Results.place_users``): canonical listens read by this format from Parquet, or from CSV
    (``.csv``: comma, standard quoting) or TSV (any other name: tab, quotes kept as they are, as
    in Last.fm files) whose header names at least ``user`` and ``artist`` (``track``,
    ``timestamp``, ``plays`` optional; ``plays`` 1 per row when missing). Returns the columns
    the file has, and ``plays``.

    A line the format rejects stops the read with an error naming the file, the line and the
    reason: a person's own small file is better fixed than silently shortened.
    """
    path = Path(path)
    check_file(path, "generic")
    with open(path, "rb") as f:
        parquet = f.read(4) == b"PAR1"
    if parquet:
        generic = {}
        names = pq.read_schema(path).names
    else:
        csv_file = path.suffix == ".csv"
        generic = {"sep": "," if csv_file else "\t", "header": True, "quoting": csv_file}
        with open_input(path, "generic") as source:
            names = _first_fields(source, generic["sep"], csv_file, header=True)
    missing = [c for c in ("user", "artist") if c not in names]
    if missing:
        raise FormatError(f"{path}: needs columns user and artist (header line); missing "
                          f"{missing}, found {names}")
    generic["columns"] = {c: c for c in CANONICAL_COLUMNS if c in names}
    listens, rejected, _ = FORMAT.read(path, generic=generic)
    if rejected.num_rows:
        first_bad = rejected.slice(0, 1).to_pylist()[0]
        raise FormatError(f"{path}, line {first_bad['line']}: {first_bad['reason']}: "
                          f"{first_bad['raw'][:100]!r} ({rejected.num_rows} bad line(s))")
    kept = [c for c in listens.column_names if c in generic["columns"] or c == "plays"]
    return listens.select(kept)


#: the track and timestamp columns are there when ``input.generic.columns`` maps them
FORMAT = register(Format("generic", read, has_tracks=True, has_timestamps=True))
