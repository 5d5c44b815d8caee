"""A split given as files (``split.scheme: given``): train, test and an optional validation
file, in the two shapes papers ship.

- ``rows``: one interaction per line, ``user item [rating] [timestamp]`` (e.g. the NCF
  ``.rating`` files), read as a generic CSV/TSV/Parquet file with ``input.generic`` (its
  separator, header and column mapping; a rating column maps to ``plays``).
- ``user-lists``: one user per line followed by their items, separated by white space (e.g. the
  SpectralCF ``train_users.dat`` and the LightGCN ``train.txt`` files); every item counts once.

The files go through the ingest contract of every format: kept rows to ``data/listens.parquet``
(train, then validation, then test rows), bad lines to ``data/rejected.parquet`` with their line
number and a reason that starts with the file's part (``test file: blank line``), exact counts
per file. Besides, :func:`read_given` returns which part each (user, item) pair belongs to
(``data/given_split.parquet``), which the split job turns into train / test (and validation)
matrices on the ids prepare assigned once for all files.

Consistency, checked here on names (before any id exists):

- a pair in two parts (in train and in test) stops the run with the count and the first pairs:
  a split whose test leaks into train cannot be evaluated;
- users and items of test (or validation) that train does not have are kept, counted and named
  in ``stats["unknown"]`` (an item only in test is in the catalogue but no model learns it; a
  user only in test is scored from an empty history), never silently dropped.

Memory: the kept rows of all files are held until the checks are done (a paper's split is a
few MB: 226K pairs for MovieLens 1M); rejected lines go to their sink as they are read.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tastemap.data.formats import generic as _generic
from tastemap.data.formats.base import (
    BLOCK_BYTES,
    FORMAT_CHECK_FRACTION,
    FORMAT_CHECK_LINES,
    LISTENS_SCHEMA,
    MAX_LINE_CHARS,
    REJECTED_SCHEMA,
    FormatError,
    _listens_table,
    _Reasons,
    _stats_from_counts,
)
from tastemap.data.formats.blocks import iter_lines

#: the shapes of a given split's files (config ``split.given.shape``)
SHAPES = ("rows", "user-lists")
#: the parts of a given split, in the order their rows are written
PARTS = ("train", "validation", "test")
#: schema of ``data/given_split.parquet``: the part of every (user, item) pair of the files
PARTS_SCHEMA = pa.schema([pa.field("user", pa.string()), pa.field("artist", pa.string()),
                          pa.field("part", pa.string())])
#: how many pairs / names an error or the stats show
SHOWN = 5


def read_user_lists(path: str | Path, block_bytes: int = BLOCK_BYTES,
                    sink: Callable[[pa.Table], None] | None = None,
                    rejected_sink: Callable[[pa.Table], None] | None = None,
                    ) -> tuple[pa.Table | None, pa.Table | None, dict]:
    """Read a file of ``user item item ...`` lines (white-space separated).

    Returns ``(listens, rejected, stats)`` as every reader of :mod:`tastemap.data.formats` does:
    one listens row per (line, item), ``plays`` 1; a line is rejected when it is blank, holds a
    user but no item, or is not UTF-8. ``lines == kept + rejected`` counts lines; ``stats["pairs"]``
    counts the listens rows. With ``sink`` / ``rejected_sink`` the rows go there block by block.

    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "train.txt")
    >>> _ = open(f, "w").write("0 4 6 7\\n1 9\\n\\n2\\n3 4\\n")
    >>> listens, rejected, stats = read_user_lists(f)
    >>> listens.column("user").to_pylist(), listens.column("artist").to_pylist()
    (['0', '0', '0', '1', '3'], ['4', '6', '7', '9', '4'])
    >>> rejected.select(["line", "reason"]).to_pylist()
    [{'line': 3, 'reason': 'blank line'}, {'line': 4, 'reason': 'a user without items'}]
    >>> stats["lines"], stats["kept"], stats["rejected"], stats["pairs"]
    (5, 3, 2, 5)
    """
    path = Path(path)
    kept_parts, rejected_parts = [], []
    counts: Counter = Counter()
    lines = kept = pairs = checked = checked_bad = 0
    for first, text, bad_utf8 in iter_lines(path, block_bytes, "user-lists"):
        table, rej, ok, n_tokens = _user_lists_block(first, text, bad_utf8)
        counts.update(rej.column("reason").to_pylist())
        if checked < FORMAT_CHECK_LINES:  # the wrong-format check on the first non-blank lines
            nonblank = np.flatnonzero(n_tokens > 0)[:FORMAT_CHECK_LINES - checked]
            checked += len(nonblank)
            checked_bad += int((~ok[nonblank]).sum())
        lines, kept, pairs = lines + len(text), kept + int(ok.sum()), pairs + table.num_rows
        for out, piece, parts in ((sink, table, kept_parts), (rejected_sink, rej, rejected_parts)):
            if out is not None:
                out(piece)
            else:
                parts.append(piece)
    if checked and checked_bad > FORMAT_CHECK_FRACTION * checked or not kept:
        raise FormatError(f"{path}: not a user-lists file (one user per line, then their items): "
                          f"{checked_bad} of the first {checked} non-blank lines hold no item"
                          if kept else f"{path}: no line holds a user and an item")
    listens = None if sink is not None else _concat(kept_parts, LISTENS_SCHEMA)
    rejected = None if rejected_sink is not None else _concat(rejected_parts, REJECTED_SCHEMA)
    stats = _stats_from_counts(path, "user-lists", lines, kept, sum(counts.values()), counts, 0,
                               {"pairs": pairs})
    return listens, rejected, stats


def _user_lists_block(first: int, text: pa.StringArray, bad_utf8: np.ndarray):
    """One block of lines (the first numbered ``first``): ``(listens, rejected, ok, n_tokens)``
    with ``ok`` and ``n_tokens`` (0 for a blank line) per line."""
    trimmed = pc.utf8_trim_whitespace(text)
    blank = pc.equal(pc.utf8_length(trimmed), 0).to_numpy(zero_copy_only=False)
    tokens = pc.utf8_split_whitespace(trimmed)
    n_tokens = np.where(blank, 0, pc.list_value_length(tokens).to_numpy(zero_copy_only=False))
    reasons = _Reasons(len(text))
    reasons.flag(bad_utf8, "invalid UTF-8")
    reasons.flag(blank, "blank line")
    reasons.flag(n_tokens == 1, "a user without items")
    ok = reasons.ok
    lists = tokens.take(pa.array(np.flatnonzero(ok), pa.int64()))
    flat = pc.list_flatten(lists)
    is_item = np.ones(len(flat), dtype=bool)
    is_item[(np.cumsum(n_tokens[ok]) - n_tokens[ok]).astype(np.int64)] = False  # the users
    users = pc.list_element(lists, 0).take(
        pa.array(np.repeat(np.arange(len(lists)), n_tokens[ok] - 1), pa.int64()))
    items = flat.filter(pa.array(is_item))
    bad = np.flatnonzero(~ok)
    raw = pc.utf8_slice_codeunits(text.take(pa.array(bad, pa.int64())), 0, MAX_LINE_CHARS)
    rejected = pa.table({"line": pa.array(first + bad, pa.int64()), "raw": raw,
                         "reason": reasons.strings(bad)}, schema=REJECTED_SCHEMA)
    return _listens_table({"user": users, "artist": items}, len(items)), rejected, ok, n_tokens


def _concat(parts: list[pa.Table], schema: pa.Schema) -> pa.Table:
    return pa.concat_tables(parts) if parts else schema.empty_table()


def read_part(path: str | Path, shape: str, generic: Mapping | None = None,
              block_bytes: int = BLOCK_BYTES,
              rejected_sink: Callable[[pa.Table], None] | None = None,
              ) -> tuple[pa.Table, pa.Table | None, dict]:
    """One file of a given split, in ``shape`` (:data:`SHAPES`): ``(listens, rejected, stats)``
    (``rejected`` None with ``rejected_sink``)."""
    if shape == "user-lists":
        return read_user_lists(path, block_bytes, rejected_sink=rejected_sink)
    if shape == "rows":
        listens, rejected, stats = _generic.read(Path(path), dict(generic or {}))
        if rejected_sink is not None:
            rejected_sink(rejected)
            rejected = None
        return listens, rejected, stats
    raise FormatError(f"split.given.shape: unknown shape {shape!r}; use one of {', '.join(SHAPES)}")


def _prefixed(part: str, sink: Callable[[pa.Table], None]) -> Callable[[pa.Table], None]:
    """A rejected-lines sink that starts each reason with the file's part."""
    def add(rejected: pa.Table) -> None:
        reason = pc.binary_join_element_wise(f"{part} file: ", rejected.column("reason"), "")
        sink(rejected.set_column(2, "reason", reason))

    return add


def _pairs(parts: dict[str, pa.Table]) -> pa.Table:
    """(user, artist, part) of every kept row, in part order."""
    return pa.concat_tables([
        pa.table({"user": t.column("user"), "artist": t.column("artist"),
                  "part": pa.repeat(pa.scalar(part, pa.string()), t.num_rows)},
                 schema=PARTS_SCHEMA)
        for part, t in parts.items()])


def _overlap(pairs: pa.Table, files: Mapping[str, str]) -> None:
    """Stop when a (user, item) pair is in two parts, naming the count and the first pairs."""
    distinct = pairs.group_by(["user", "artist", "part"]).aggregate([])
    per_pair = distinct.group_by(["user", "artist"]).aggregate([("part", "count"),
                                                                ("part", "distinct")])
    twice = per_pair.filter(pc.greater(per_pair.column("part_count"), 1))
    if not twice.num_rows:
        return
    shown = ", ".join(f"({u}, {a}) in {' and '.join(sorted(p))}" for u, a, p in zip(
        twice.column("user").to_pylist()[:SHOWN], twice.column("artist").to_pylist()[:SHOWN],
        twice.column("part_distinct").to_pylist()[:SHOWN]))
    named = ", ".join(f"{part} {path}" for part, path in files.items())
    raise FormatError(f"split.given: {twice.num_rows:,} (user, item) pairs are in more than one "
                      f"file ({named}), e.g. {shown}: a test pair must not be in train")


def _unknown(parts: dict[str, pa.Table]) -> dict:
    """Users and items of validation / test that train does not have: counts and first names."""
    train = parts["train"]
    out = {}
    for part in ("validation", "test"):
        if part not in parts:
            continue
        for column, what in (("user", "users"), ("artist", "items")):
            values = pc.unique(parts[part].column(column))
            new = values.filter(pc.invert(pc.is_in(values, value_set=pc.unique(train.column(column)))))
            rows = int(pc.sum(pc.is_in(parts[part].column(column), value_set=new)).as_py() or 0)
            out[f"{part}_{what}_not_in_train"] = {
                "count": len(new), "rows": rows, "first": sorted(new.to_pylist())[:SHOWN]}
    return out


def read_given(files: Mapping[str, str | Path | None], shape: str, generic: Mapping | None = None,
               block_bytes: int = BLOCK_BYTES, sink: Callable[[pa.Table], None] | None = None,
               rejected_sink: Callable[[pa.Table], None] | None = None,
               ) -> tuple[pa.Table, pa.Table | None, dict]:
    """Read the files of a given split (``files``: ``train``, ``test`` and optionally
    ``validation`` -> path or None).

    Returns ``(pairs, rejected, stats)``: ``pairs`` is :data:`PARTS_SCHEMA` (one row per kept
    row: its user, item and part), ``rejected`` the bad lines of every file (reasons prefixed
    with the part; None with ``rejected_sink``), ``stats`` the ingest stats of all files
    together (``lines == kept + rejected``) with ``files`` (each file's own stats) and
    ``unknown`` (see the module docstring). Kept rows go to ``sink`` in part order.

    Raises :class:`FormatError` for a missing train or test file, a bad file (naming it) and a
    pair in two parts.
    """
    named = {part: str(files[part]) for part in PARTS if files.get(part)}
    for part in ("train", "test"):
        if part not in named:
            raise FormatError(f"split.given.{part}: required with split.scheme: given")
    kept, file_stats, rejected_parts = {}, {}, []
    counts: Counter = Counter()
    for part, path in named.items():
        to = _prefixed(part, rejected_sink if rejected_sink is not None else rejected_parts.append)
        kept[part], _, stats = read_part(path, shape, generic, block_bytes, rejected_sink=to)
        counts.update({f"{part} file: {reason}": n
                       for reason, n in stats["rejected_by_reason"].items()})
        file_stats[part] = stats
    pairs = _pairs(kept)
    _overlap(pairs, named)
    if sink is not None:
        for listens in kept.values():
            sink(listens)
    lines = sum(s["lines"] for s in file_stats.values())
    n_kept = sum(s["kept"] for s in file_stats.values())
    stats = _stats_from_counts(", ".join(named.values()), f"given ({shape})", lines, n_kept,
                               sum(counts.values()), counts,
                               sum(s.get("header_lines", 0) for s in file_stats.values()),
                               {"files": file_stats, "unknown": _unknown(kept),
                                "pairs": {part: t.num_rows for part, t in kept.items()}})
    rejected = None if rejected_sink is not None else _concat(rejected_parts, REJECTED_SCHEMA)
    return pairs, rejected, stats
