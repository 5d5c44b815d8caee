"""Prepare: canonical listens -> deduplicated, filtered, integer-indexed interactions.

One row per (user, artist, track) with the summed play count and first/last timestamp, ids that
are contiguous and deterministic (users and artists sorted by name, songs by artist then track),
and id <-> name tables. Every filter reports what it removed.

Data flow (``listens`` -> ``prepare`` -> ``Prepared``)::

    user  artist  track  timestamp  plays        user_idx artist_idx song_idx plays first_ts last_ts
    u1    A       t1     ...        1       ->   0        0          0        2     ...      ...
    u1    A       t1     ...        1

How, and why so (memory at MSD scale, docs/benchmarks.md "Data stages at MSD scale"): names are
never held as strings per row. :func:`encode` reads each name column of ``listens.parquet`` as
an Arrow dictionary (one code per row, each distinct name once), then every stage works on
integer codes with pandas' hash factorisation and numpy: :func:`dedupe` (groups in order of
first appearance), :func:`filter_entities` (artists, then users), :func:`index_entities` (ids in
name order), :func:`select_songs` and :func:`order_interactions`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

logger = logging.getLogger(__name__)

TS_TYPE = pa.timestamp("s", tz="UTC")
_NAMES = ("user", "artist", "track")


@dataclass
class Prepared:
    """Result of :func:`prepare`.

    ``interactions``: ``user_idx, artist_idx, song_idx (-1 = not a kept song), plays, first_ts,
    last_ts``; ``users``: ``user_idx, user, n_artists, n_plays``; ``artists``: ``artist_idx,
    artist, n_users, n_plays``; ``songs``: ``song_idx, artist_idx, artist, track, n_users,
    n_plays``; ``stats``: counts of every step (rows and entities in/out of each filter).
    """

    interactions: pd.DataFrame
    users: pd.DataFrame
    artists: pd.DataFrame
    songs: pd.DataFrame
    stats: dict = field(default_factory=dict)


@dataclass
class Rows:
    """Listens (or deduplicated groups) as integer codes, all arrays of shape (n,).

    ``user``, ``artist``, ``track``: codes into ``names[...]`` (track -1 = no track);
    ``plays``: int64; ``first_ts``, ``last_ts``: Unix seconds (int64) with ``has_ts`` (bool,
    False = no time) or None when the log has no timestamps at all.
    """

    user: np.ndarray
    artist: np.ndarray
    track: np.ndarray
    plays: np.ndarray
    first_ts: np.ndarray | None
    last_ts: np.ndarray | None
    has_ts: np.ndarray | None
    names: dict

    def __len__(self) -> int:
        return len(self.user)

    def keep(self, idx: np.ndarray) -> Rows:
        """Keep only the rows ``idx`` (positions or a boolean mask), in place: each old array
        is released as soon as its replacement exists (memory at MSD scale). Returns self."""
        if idx.dtype == bool and idx.all():
            return self
        for name in ("user", "artist", "track", "plays", "first_ts", "last_ts", "has_ts"):
            if getattr(self, name) is not None:
                setattr(self, name, getattr(self, name)[idx])
        return self


def normalize_names(names: pa.Array) -> pa.Array:
    """Key under which artist spellings merge: NFKC, trimmed, inner white space collapsed, casefolded.

    >>> normalize_names(pa.array(["  The  Beatles", "the beatles", "ＡＢＢＡ"])).to_pylist()
    ['the beatles', 'the beatles', 'abba']
    """
    out = pc.utf8_normalize(names, "NFKC")
    out = pc.replace_substring_regex(out, r"\s+", " ")
    out = pc.utf8_trim_whitespace(out)
    return pc.utf8_lower(out)


# ---- encode: names -> integer codes ------------------------------------------------------------


def _dictionary_codes(enc: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Codes (int32, null -> -1) of a dictionary-encoded column and its one dictionary."""
    if enc.num_chunks == 0:
        return np.zeros(0, np.int32), pa.array([], pa.string())
    shared = {(c.dictionary.buffers()[-1].address, len(c.dictionary)) for c in enc.chunks}
    if len(shared) > 1:  # chunks of a Parquet file: one dictionary per row group
        enc = enc.unify_dictionaries()
    codes = np.empty(len(enc), dtype=np.int32)
    pos = 0
    for chunk in enc.chunks:  # chunk by chunk: no second full-length copy
        part = chunk.indices.to_numpy(zero_copy_only=False)
        if chunk.null_count:
            part = np.where(chunk.is_valid().to_numpy(zero_copy_only=False), part, -1)
        codes[pos: pos + len(part)] = part
        pos += len(part)
    return codes, enc.chunk(0).dictionary.cast(pa.string())


#: A name column with more distinct values than this fraction of a row group's rows is read as
#: strings and encoded once: Arrow's dictionary read then costs more (per row group dictionaries
#: to unify). Measured at Last.fm-360K size: artists (20 % distinct) 4.4 s CPU this way against
#: 7.9 s; users (2 %) 0.8 s as dictionaries against 3.0 s.
SPREAD = 0.1


def _spread(path: Path, name: str) -> bool:
    """Whether the first row group of ``name`` has more than :data:`SPREAD` distinct values."""
    parquet = pq.ParquetFile(path, read_dictionary=[name])
    if parquet.metadata.num_row_groups == 0:
        return False
    first = parquet.read_row_group(0, columns=[name]).column(0)
    return sum(len(c.dictionary) for c in first.chunks) > SPREAD * max(len(first), 1)


def _column(listens: pa.Table | Path, name: str, dictionary: bool = False) -> pa.ChunkedArray:
    if isinstance(listens, pa.Table):
        col = listens.column(name)
        return pc.dictionary_encode(col) if dictionary else col
    if dictionary and _spread(listens, name):
        return pc.dictionary_encode(pq.read_table(listens, columns=[name]).column(0))
    return pq.read_table(listens, columns=[name], read_dictionary=[name] if dictionary else None,
                         ).column(0)


def _times(col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray] | None:
    """Unix seconds (int64, 0 where null) and the valid mask, or None if every value is null."""
    if col.null_count == len(col):
        return None
    # Parquet has no second-resolution timestamps: a file written as [s] reads back as [ms].
    secs = col.cast(TS_TYPE).cast(pa.int64())
    valid = np.asarray(secs.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return np.asarray(pc.fill_null(secs, 0).to_numpy(zero_copy_only=False), np.int64), valid


def encode(listens: pa.Table | str | Path) -> Rows:
    """Canonical listens (a table or a ``listens.parquet``) as integer codes, one row each.

    From a file, each name column is read as an Arrow dictionary (codes + each name once), so
    memory grows with 4 bytes per row and column instead of the names' length.
    """
    source = listens if isinstance(listens, pa.Table) else Path(listens)
    codes, names = {}, {}
    for name in _NAMES:
        codes[name], names[name] = _dictionary_codes(_column(source, name, dictionary=True))
    plays = np.asarray(_column(source, "plays").to_numpy(), dtype=np.int64)
    times = _times(_column(source, "timestamp"))
    ts, has_ts = times if times is not None else (None, None)
    return Rows(codes["user"], codes["artist"], codes["track"], plays, ts, ts, has_ts, names)


# ---- dedupe -------------------------------------------------------------------------------------


def _merge_artist_spellings(rows: Rows) -> tuple[Rows, dict]:
    """Map artist codes to one code per normalised name; display name = most-played spelling."""
    names = rows.names["artist"]
    keys, key_dict = pd.factorize(normalize_names(names).to_numpy(zero_copy_only=False))
    played = np.bincount(rows.artist, weights=rows.plays, minlength=len(names))
    spellings = pd.DataFrame({"key": keys, "name": names.to_numpy(zero_copy_only=False), "plays": played})
    spellings = spellings.sort_values(["key", "plays", "name"], ascending=[True, False, True])
    display = spellings.drop_duplicates("key").set_index("key")["name"]
    new_names = pa.array(display.reindex(np.arange(len(key_dict))).to_numpy(), pa.string())
    rows.artist = keys[rows.artist].astype(np.int32)
    rows.names = {**rows.names, "artist": new_names}
    stats = {"artists_in": len(names), "artists_out": len(new_names),
             "artists_merged": len(names) - len(new_names)}
    logger.info("normalize_artist_names: %d spellings -> %d artists", len(names), len(new_names))
    return rows, stats


def _group_ids(rows: Rows) -> tuple[np.ndarray, int]:
    """Group of every row by (user, artist, track), numbered in order of first appearance."""
    pair = rows.artist.astype(np.int64) * (len(rows.names["track"]) + 1) + (rows.track + 1)
    song, songs = pd.factorize(pair)  # (artist, track) -> one code
    del pair
    key = rows.user.astype(np.int64) * max(len(songs), 1) + song
    del song
    gid, groups = pd.factorize(key)
    return gid, len(groups)


def _group_times(rows: Rows, gid: np.ndarray, n: int):
    """First and last time of each group (nulls skipped) and whether it has one."""
    has = np.bincount(gid, weights=rows.has_ts, minlength=n) > 0
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    valid = np.flatnonzero(rows.has_ts)
    np.minimum.at(first, gid[valid], rows.first_ts[valid])
    np.maximum.at(last, gid[valid], rows.last_ts[valid])
    return np.where(has, first, 0), np.where(has, last, 0), has


def dedupe(rows: Rows) -> Rows:
    """One row per (user, artist, track): plays summed, first/last time; groups in the order of
    their first row (as pandas' ``groupby(sort=False)``), shape (n_groups,). In place: ``rows``
    becomes the groups (and is returned)."""
    gid, n = _group_ids(rows)
    first_row = np.empty(n, dtype=np.int64)
    first_row[gid[::-1]] = np.arange(len(gid) - 1, -1, -1)  # the last write wins: the first row
    plays = np.bincount(gid, weights=rows.plays, minlength=n).astype(np.int64)
    times = _group_times(rows, gid, n) if rows.has_ts is not None else (None, None, None)
    del gid
    rows.first_ts, rows.last_ts, rows.has_ts = None, None, None
    rows.keep(first_row)
    rows.plays = plays
    rows.first_ts, rows.last_ts, rows.has_ts = times
    return rows


# ---- filters ------------------------------------------------------------------------------------


def _removed(stats: dict, step: str, rows_in: int, rows_out: int, **entities) -> None:
    stats[step] = {"rows_in": rows_in, "rows_out": rows_out, "rows_removed": rows_in - rows_out,
                   **entities}
    logger.info("%s: kept %d of %d rows (removed %d) %s", step, rows_out, rows_in,
                rows_in - rows_out, entities or "")


def _pairs(rows: Rows) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (user, artist) pairs of the rows: user codes, artist codes."""
    n_artists = max(len(rows.names["artist"]), 1)
    key = pd.unique(rows.user.astype(np.int64) * n_artists + rows.artist)
    return (key // n_artists).astype(np.int32), (key % n_artists).astype(np.int32)


def _drop(rows: Rows, pairs: tuple[np.ndarray, np.ndarray], side: str, minimum: int,
          stats: dict, step: str, error: str) -> tuple[np.ndarray, np.ndarray]:
    """Keep (in place) the rows of the ``side`` entities ("artist" or "user") with at least
    ``minimum`` distinct partners among ``pairs`` (user codes, artist codes); returns the pairs
    that stay."""
    own = pairs[1] if side == "artist" else pairs[0]
    partners = np.bincount(own, minlength=len(rows.names[side]))
    keep = partners >= minimum
    n_in = len(rows)
    rows.keep(keep[getattr(rows, side)])
    _removed(stats, step, n_in, len(rows), **{f"{side}s_removed": int((~keep & (partners > 0)).sum())})
    if not len(rows):
        raise ValueError(error)
    live = keep[own]
    return pairs[0][live], pairs[1][live]


def filter_entities(rows: Rows, min_artist_listeners: int, min_user_items: int, stats: dict,
                    ) -> tuple[Rows, tuple[np.ndarray, np.ndarray]]:
    """Drop artists with fewer distinct users than ``min_artist_listeners``, then users with
    fewer distinct artists than ``min_user_items`` (one pass). Returns the kept rows (``rows``,
    filtered in place) and their distinct (user, artist) pairs."""
    pairs = _drop(rows, _pairs(rows), "artist", min_artist_listeners, stats, "min_artist_listeners",
                  f"prepare.min_artist_listeners={min_artist_listeners} removed every artist")
    pairs = _drop(rows, pairs, "user", min_user_items, stats, "min_user_items",
                  f"prepare.min_user_items={min_user_items} removed every user "
                  f"(after prepare.min_artist_listeners={min_artist_listeners})")
    return rows, pairs


# ---- indexing -----------------------------------------------------------------------------------


def _index(names: pa.Array, codes: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """Contiguous ids in name order for the codes in use: code -> id map (-1 = unused) and the
    names by id."""
    used = np.flatnonzero(np.bincount(codes, minlength=len(names)))
    sub = names.take(pa.array(used))
    order = pc.sort_indices(sub).to_numpy()
    id_of = np.full(len(names), -1, np.int64)
    id_of[used[order]] = np.arange(len(used))
    return id_of, sub.take(pa.array(order))


def index_entities(rows: Rows) -> tuple[np.ndarray, np.ndarray, pa.Array, pa.Array]:
    """User and artist ids in name order among the rows: code -> id maps (int64, -1 = unused)
    and the names by id."""
    user_of, user_names = _index(rows.names["user"], rows.user)
    artist_of, artist_names = _index(rows.names["artist"], rows.artist)
    return user_of, artist_of, user_names, artist_names


# ---- songs --------------------------------------------------------------------------------------


def _rank(names: pa.Array) -> np.ndarray:
    """Position of every dictionary entry in sorted order."""
    order = pc.sort_indices(names).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def select_songs(artist_idx: np.ndarray, track: np.ndarray, track_names: pa.Array,
                 min_track_listeners: int, stats: dict) -> tuple[np.ndarray, pd.DataFrame]:
    """Songs = (artist, track) pairs played by more than ``min_track_listeners`` users (rows are
    unique per user, so rows count users). Returns song_idx per row (int32, -1 = no kept song)
    and the kept songs (``artist_idx``, ``track`` code) sorted by artist, then track name."""
    has_track = track >= 0
    pair = artist_idx.astype(np.int64) * (len(track_names) + 1) + track
    code, pairs = pd.factorize(np.where(has_track, pair, -1))
    listeners = np.bincount(code, minlength=len(pairs))
    real = pairs >= 0
    keep = real & (listeners > min_track_listeners)
    kept_pairs = pairs[keep]
    song_artist = kept_pairs // (len(track_names) + 1)
    song_track = kept_pairs % (len(track_names) + 1)
    order = np.lexsort((_rank(track_names)[song_track], song_artist))
    song_of = np.full(len(pairs), -1, np.int32)
    song_of[np.flatnonzero(keep)[order]] = np.arange(len(order), dtype=np.int32)
    song_idx = song_of[code]
    n_in = int(real.sum())
    stats["min_track_listeners"] = {
        "songs_in": n_in, "songs_kept": len(order), "songs_removed": n_in - len(order),
        "rows_with_track": int(has_track.sum()), "rows_in_kept_songs": int((song_idx >= 0).sum()),
        "note": "rows of removed songs stay in interactions (song_idx = -1) and in user x artist",
    }
    logger.info("min_track_listeners (> %d users): kept %d of %d songs", min_track_listeners,
                len(order), n_in)
    return song_idx, pd.DataFrame({"artist_idx": song_artist[order].astype(np.int32),
                                   "t": song_track[order].astype(np.int64)})


# ---- interactions and entity tables -------------------------------------------------------------


def _sort_order(user_idx: np.ndarray, artist_idx: np.ndarray, song_idx: np.ndarray) -> np.ndarray:
    """Stable order by (user_idx, artist_idx, song_idx): one int64 key when it fits."""
    n_a, n_s = int(artist_idx.max()) + 1, int(song_idx.max()) + 2
    if (int(user_idx.max()) + 1) * n_a * n_s < 2**62:
        key = (user_idx.astype(np.int64) * n_a + artist_idx) * n_s + (song_idx + 1)
        return np.argsort(key, kind="stable")
    return np.lexsort((song_idx, artist_idx, user_idx))


def _timestamps(seconds: np.ndarray | None, has: np.ndarray | None, n: int) -> pd.Series:
    """Unix seconds -> datetime64[s, UTC] with NaT where there is no time."""
    if seconds is None:
        values = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    else:
        values = seconds.astype("datetime64[s]")
        values[~has] = np.datetime64("NaT")
    return pd.Series(values).dt.tz_localize("UTC")


def order_interactions(rows: Rows) -> pd.DataFrame:
    """The interactions table of indexed rows (``user``, ``artist`` hold ids, ``track`` holds
    song_idx), sorted by user, artist, song (ties: first appearance). Empties ``rows`` column by
    column as the table fills (memory)."""
    order = _sort_order(rows.user, rows.artist, rows.track)
    columns = {}
    for name, attr in (("user_idx", "user"), ("artist_idx", "artist"), ("song_idx", "track"),
                       ("plays", "plays")):
        columns[name] = getattr(rows, attr)[order]
        setattr(rows, attr, None)
    has = None if rows.has_ts is None else rows.has_ts[order]
    for name in ("first_ts", "last_ts"):
        values = getattr(rows, name)
        columns[name] = _timestamps(None if values is None else values[order], has, len(order))
        setattr(rows, name, None)
    return pd.DataFrame(columns, copy=False)


def _entity_table(inter: pd.DataFrame, idx: str, name: str, names: pa.Array, count_name: str,
                  distinct: np.ndarray) -> pd.DataFrame:
    """``idx, name, count_name (distinct partners), n_plays`` for ids 0..len(names)-1."""
    n = len(names)
    return pd.DataFrame({
        idx: np.arange(n, dtype=np.int32),
        name: pd.array(names.to_numpy(zero_copy_only=False), dtype="string[pyarrow]"),
        count_name: np.bincount(distinct, minlength=n).astype(np.int64),
        "n_plays": np.bincount(inter[idx].to_numpy(), weights=inter["plays"].to_numpy(),
                               minlength=n).astype(np.int64),
    })


def _songs_table(inter: pd.DataFrame, songs: pd.DataFrame, artist_names: pa.Array,
                 track_names: pa.Array) -> pd.DataFrame:
    n = len(songs)
    rows = inter[inter["song_idx"] >= 0]
    return pd.DataFrame({
        "song_idx": np.arange(n, dtype=np.int32),
        "artist_idx": songs["artist_idx"].to_numpy(np.int32),
        "artist": pd.array(artist_names.take(pa.array(songs["artist_idx"].to_numpy()))
                           .to_numpy(zero_copy_only=False), dtype="string[pyarrow]"),
        "track": pd.array(track_names.take(pa.array(songs["t"].to_numpy()))
                          .to_numpy(zero_copy_only=False), dtype="string[pyarrow]"),
        "n_users": np.bincount(rows["song_idx"].to_numpy(), minlength=n).astype(np.int64),
        "n_plays": np.bincount(rows["song_idx"].to_numpy(), weights=rows["plays"].to_numpy(),
                               minlength=n).astype(np.int64),
    })


def prepare(
    listens: pa.Table | str | Path,
    min_track_listeners: int = 20,
    min_artist_listeners: int = 1,
    min_user_items: int = 1,
    normalize_artist_names: bool = False,
) -> Prepared:
    """Deduplicate, filter and index canonical listens.

    Parameters
    ----------
    listens
        Canonical table (``user, artist, track, timestamp, plays``) from ``formats.read_listens``,
        or the path of ``listens.parquet`` (read column by column, names as dictionaries).
    min_track_listeners
        A song (artist, track) gets a ``song_idx`` only if *more than* this many distinct users
        played it; other rows keep ``song_idx = -1`` and still count for the user x artist matrix.
    min_artist_listeners
        Drop artists with fewer distinct users than this.
    min_user_items
        Then drop users with fewer distinct artists than this (one pass, not iterated).
    normalize_artist_names
        Merge spellings that differ in case/white space/Unicode form (see :func:`normalize_names`).
    """
    rows = encode(listens)
    stats: dict = {"rows_in": len(rows)}
    if not len(rows):
        raise ValueError("prepare: the listens table is empty - nothing was ingested")
    if normalize_artist_names:
        rows, stats["normalize_artist_names"] = _merge_artist_spellings(rows)
    n_in, rows = len(rows), dedupe(rows)
    _removed(stats, "dedupe", n_in, len(rows))
    rows, (pair_u, pair_a) = filter_entities(rows, min_artist_listeners, min_user_items, stats)
    user_of, artist_of, user_names, artist_names = index_entities(rows)
    rows.user = user_of[rows.user].astype(np.int32)  # codes -> ids, in place (memory)
    rows.artist = artist_of[rows.artist].astype(np.int32)
    track_names = rows.names["track"]
    rows.track, songs = select_songs(rows.artist, rows.track, track_names, min_track_listeners, stats)
    inter = order_interactions(rows)
    users = _entity_table(inter, "user_idx", "user", user_names, "n_artists", user_of[pair_u])
    artists = _entity_table(inter, "artist_idx", "artist", artist_names, "n_users", artist_of[pair_a])
    songs = _songs_table(inter, songs, artist_names, track_names)
    stats.update(rows_out=len(inter), users=len(users), artists=len(artists), songs=len(songs))
    return Prepared(inter, users, artists, songs, stats)
