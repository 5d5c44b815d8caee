"""MSD taste profile (``train_triplets.txt``): 3 tab-separated fields, user, song id, play
count; names come from the side file ``unique_tracks.txt``
(``track_id<SEP>song_id<SEP>artist<SEP>title``)."""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tastemap.data.formats.base import (
    BLOCK_BYTES,
    _empty,
    _fields,
    _merge,
    _null_if_empty,
    _Reasons,
    parse_counts,
)
from tastemap.data.formats.blocks import Layout, iter_lines, run
from tastemap.data.formats.registry import Format, register

log = logging.getLogger("tastemap.data.formats")


def read_msd_tracks(path: str | Path, block_bytes: int = BLOCK_BYTES) -> tuple[pa.Table, dict]:
    """Read MSD ``unique_tracks.txt`` (track id<SEP>song id<SEP>artist<SEP>title).

    Returns (table ``song_id, artist, title`` with one row per song id, the first line wins;
    stats of the side file with ``lines == kept + rejected + duplicates``).
    """
    path = Path(path)
    parts, counts, lines_n = [], Counter(), 0
    for _first, lines, bad in iter_lines(path, block_bytes, "MSD unique_tracks.txt",
                                         FORMAT.side_files["msd-tracks"]):
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
        track = _null_if_empty(track)
    else:  # no names: every song is its own item, named by its id (artist entity only)
        artist, track = song, pa.nulls(len(song), pa.string())
    return {"user": user, "artist": artist, "track": track,
            "plays": pa.array(plays.astype(np.int32))}, reasons


def read(path: Path, *, tracks_path: str | Path | None = None, generic=None,
         block_bytes: int = BLOCK_BYTES, sink=None,
         rejected_sink=None) -> tuple[pa.Table, pa.Table, dict]:
    """Read MSD triplets, with names from ``tracks_path`` when given (stats add ``tracks``; no
    options)."""
    tracks, extra = None, {}
    if tracks_path:
        tracks, tstats = read_msd_tracks(tracks_path, block_bytes)
        extra = {"tracks": tstats}
        log.info("%s: %d songs with names (%d lines rejected, %d duplicate song ids)",
                 tracks_path, tstats["kept"], tstats["rejected"], tstats["duplicates"])
    else:
        log.warning("%s: no MSD tracks file (input.tracks_path): each song id stands in as its "
                    "own artist, tracks are null (use entities: [artist])", path)
    return run(path, "msd-triplets", Layout(3, lambda f: _validate_msd(f, tracks)),
               block_bytes=block_bytes, extra_stats=extra, known=FORMAT.member,
               sink=sink,
               rejected_sink=rejected_sink)


FORMAT = register(Format("msd-triplets", read, member="train_triplets.txt",
                         side_files={"msd-tracks": "unique_tracks.txt"}, has_tracks=True,
                         tracks_need_side_file=True, streams=True))
