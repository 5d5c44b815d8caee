"""Prepare: canonical listens -> deduplicated, filtered, integer-indexed interactions.

One row per (user, artist, track) with the summed play count and first/last timestamp, ids that
are contiguous and deterministic (users and artists sorted by name, songs by artist then track),
and id <-> name tables. Every filter reports what it removed.

Data flow (``listens`` -> ``prepare`` -> ``Prepared``)::

    user  artist  track  timestamp  plays        user_idx artist_idx song_idx plays first_ts last_ts
    u1    A       t1     ...        1       ->   0        0          0        2     ...      ...
    u1    A       t1     ...        1
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

logger = logging.getLogger(__name__)

TS_TYPE = pa.timestamp("s", tz="UTC")


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


def normalize_names(names: pa.Array) -> pa.Array:
    """Key under which artist spellings merge: NFKC, trimmed, inner white space collapsed, casefolded.

    >>> normalize_names(pa.array(["  The  Beatles", "the beatles", "ＡＢＢＡ"])).to_pylist()
    ['the beatles', 'the beatles', 'abba']
    """
    out = pc.utf8_normalize(names, "NFKC")
    out = pc.replace_substring_regex(out, r"\s+", " ")
    out = pc.utf8_trim_whitespace(out)
    return pc.utf8_lower(out)


def _codes(column: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, pa.Array]:
    """Integer codes of a string column (null -> -1) and the dictionary they index."""
    enc = pc.dictionary_encode(column)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks() if enc.num_chunks != 1 else enc.chunk(0)
    codes = enc.indices.to_numpy(zero_copy_only=False)
    if enc.indices.null_count:
        codes = np.where(enc.indices.is_valid().to_numpy(zero_copy_only=False), codes, -1)
    return codes.astype(np.int64), enc.dictionary


def _merge_artist_spellings(artist_codes: np.ndarray, names: pa.Array, plays: np.ndarray):
    """Map artist codes to one code per normalised name; display name = most-played spelling."""
    keys, key_dict = _codes(normalize_names(names))
    played = np.bincount(artist_codes, weights=plays, minlength=len(names))
    spellings = pd.DataFrame({"key": keys, "name": names.to_numpy(zero_copy_only=False), "plays": played})
    spellings = spellings.sort_values(["key", "plays", "name"], ascending=[True, False, True])
    display = spellings.drop_duplicates("key").set_index("key")["name"]
    new_names = pa.array(display.reindex(np.arange(len(key_dict))).to_numpy(), pa.string())
    return keys[artist_codes], new_names


def _dense_rank(names: pa.Array) -> np.ndarray:
    """Position of every dictionary entry in sorted order: new contiguous, name-sorted ids."""
    order = pc.sort_indices(names).to_numpy()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def _removed(stats: dict, step: str, before: pd.DataFrame, after: pd.DataFrame, **entities) -> None:
    stats[step] = {"rows_in": len(before), "rows_out": len(after), "rows_removed": len(before) - len(after), **entities}
    logger.info("%s: kept %d of %d rows (removed %d) %s", step, len(after), len(before),
                len(before) - len(after), entities or "")


def prepare(
    listens: pa.Table,
    min_track_listeners: int = 20,
    min_artist_listeners: int = 1,
    min_user_items: int = 1,
    normalize_artist_names: bool = False,
) -> Prepared:
    """Deduplicate, filter and index a canonical listens table.

    Parameters
    ----------
    listens
        Canonical table (``user, artist, track, timestamp, plays``) from ``formats.read_listens``.
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
    stats: dict = {"rows_in": listens.num_rows}
    if listens.num_rows == 0:
        raise ValueError("prepare: the listens table is empty - nothing was ingested")
    users, user_names = _codes(listens.column("user"))
    artists, artist_names = _codes(listens.column("artist"))
    tracks, track_names = _codes(listens.column("track"))
    plays = listens.column("plays").to_numpy().astype(np.int64)
    # Parquet has no second-resolution timestamps: a file written as [s] reads back as [ms].
    ts = listens.column("timestamp").cast(TS_TYPE).cast(pa.int64()).to_numpy(zero_copy_only=False)
    has_ts = listens.column("timestamp").null_count < listens.num_rows

    if normalize_artist_names:
        before = len(artist_names)
        artists, artist_names = _merge_artist_spellings(artists, artist_names, plays)
        stats["normalize_artist_names"] = {"artists_in": before, "artists_out": len(artist_names),
                                           "artists_merged": before - len(artist_names)}
        logger.info("normalize_artist_names: %d spellings -> %d artists", before, len(artist_names))

    # Dedupe: one row per (user, artist, track); hash group-by on integer codes, not strings.
    frame = pd.DataFrame({"u": users, "a": artists, "t": tracks, "plays": plays})
    if has_ts:
        frame["ts"] = pd.array(ts, dtype="Int64")  # nulls stay nulls through min/max
    agg = {"plays": ("plays", "sum")}
    if has_ts:
        agg.update(first_ts=("ts", "min"), last_ts=("ts", "max"))
    dedup = frame.groupby(["u", "a", "t"], sort=False, dropna=False).agg(**agg).reset_index()
    _removed(stats, "dedupe", frame, dedup)
    del frame

    # Filter artists by distinct listeners, then users by distinct artists.
    pairs = dedup[["u", "a"]].drop_duplicates()
    listeners = np.bincount(pairs["a"].to_numpy(), minlength=len(artist_names))
    keep_artist = listeners >= min_artist_listeners
    kept = dedup[keep_artist[dedup["a"].to_numpy()]]
    _removed(stats, "min_artist_listeners", dedup, kept,
             artists_removed=int((~keep_artist & (listeners > 0)).sum()))
    if kept.empty:
        raise ValueError(f"prepare.min_artist_listeners={min_artist_listeners} removed every artist")
    dedup = kept
    pairs = dedup[["u", "a"]].drop_duplicates()
    n_items = np.bincount(pairs["u"].to_numpy(), minlength=len(user_names))
    keep_user = n_items >= min_user_items
    kept = dedup[keep_user[dedup["u"].to_numpy()]]
    _removed(stats, "min_user_items", dedup, kept, users_removed=int((~keep_user & (n_items > 0)).sum()))
    if kept.empty:
        raise ValueError(f"prepare.min_user_items={min_user_items} removed every user "
                         f"(after prepare.min_artist_listeners={min_artist_listeners})")
    dedup = kept

    # Contiguous ids in name order among what survived.
    used_u = np.unique(dedup["u"].to_numpy())
    used_a = np.unique(dedup["a"].to_numpy())
    user_tab = _index_table(user_names, used_u)
    artist_tab = _index_table(artist_names, used_a)
    u_map = np.full(len(user_names), -1, np.int64)
    u_map[user_tab["code"]] = user_tab.index.to_numpy()
    a_map = np.full(len(artist_names), -1, np.int64)
    a_map[artist_tab["code"]] = artist_tab.index.to_numpy()
    dedup = dedup.assign(user_idx=u_map[dedup["u"].to_numpy()].astype(np.int32),
                         artist_idx=a_map[dedup["a"].to_numpy()].astype(np.int32))

    # Songs: (artist, track) played by more than min_track_listeners distinct users.
    has_track = dedup["t"].to_numpy() >= 0
    song_rows = dedup.loc[has_track, ["artist_idx", "t"]]
    song_listeners = song_rows.value_counts()  # rows are unique per user already
    kept_songs = song_listeners[song_listeners > min_track_listeners].reset_index()[["artist_idx", "t"]]
    kept_songs["track"] = track_names.take(pa.array(kept_songs["t"].to_numpy())).to_numpy(zero_copy_only=False)
    kept_songs["artist"] = artist_tab["name"].to_numpy()[kept_songs["artist_idx"].to_numpy()]
    kept_songs = kept_songs.sort_values(["artist", "track"], kind="stable").reset_index(drop=True)
    kept_songs["song_idx"] = np.arange(len(kept_songs), dtype=np.int32)
    dedup = dedup.merge(kept_songs[["artist_idx", "t", "song_idx"]], on=["artist_idx", "t"], how="left")
    dedup["song_idx"] = dedup["song_idx"].fillna(-1).astype(np.int32)
    n_song_rows = int(has_track.sum())
    stats["min_track_listeners"] = {
        "songs_in": int(len(song_listeners)), "songs_kept": int(len(kept_songs)),
        "songs_removed": int(len(song_listeners) - len(kept_songs)),
        "rows_with_track": n_song_rows, "rows_in_kept_songs": int((dedup["song_idx"] >= 0).sum()),
        "note": "rows of removed songs stay in interactions (song_idx = -1) and in user x artist",
    }
    logger.info("min_track_listeners (> %d users): kept %d of %d songs", min_track_listeners,
                len(kept_songs), len(song_listeners))

    interactions = pd.DataFrame({
        "user_idx": dedup["user_idx"].to_numpy(np.int32),
        "artist_idx": dedup["artist_idx"].to_numpy(np.int32),
        "song_idx": dedup["song_idx"].to_numpy(np.int32),
        "plays": dedup["plays"].to_numpy(np.int64),
    })
    for col in ("first_ts", "last_ts"):
        values = dedup[col].to_numpy(dtype="float64", na_value=np.nan) if has_ts else np.full(len(dedup), np.nan)
        interactions[col] = pd.to_datetime(values, unit="s", utc=True).astype("datetime64[s, UTC]")
    interactions = interactions.sort_values(["user_idx", "artist_idx", "song_idx"], kind="stable").reset_index(drop=True)

    users_df = _entity_table(interactions, "user_idx", "user", user_tab["name"], "n_artists", "artist_idx")
    artists_df = _entity_table(interactions, "artist_idx", "artist", artist_tab["name"], "n_users", "user_idx")
    songs_df = _songs_table(interactions, kept_songs)
    stats.update(rows_out=len(interactions), users=len(users_df), artists=len(artists_df), songs=len(songs_df))
    return Prepared(interactions, users_df, artists_df, songs_df, stats)


def _index_table(names: pa.Array, used_codes: np.ndarray) -> pd.DataFrame:
    """Surviving codes sorted by name; the frame index is the new contiguous id."""
    sub = names.take(pa.array(used_codes))
    order = pc.sort_indices(sub).to_numpy()
    return pd.DataFrame({"code": used_codes[order], "name": sub.take(pa.array(order)).to_numpy(zero_copy_only=False)})


def _entity_table(inter: pd.DataFrame, idx: str, name: str, names: pd.Series, count_name: str,
                  other: str) -> pd.DataFrame:
    n = len(names)
    distinct = inter[[idx, other]].drop_duplicates()[idx].to_numpy()
    return pd.DataFrame({
        idx: np.arange(n, dtype=np.int32),
        name: pd.array(names.to_numpy(), dtype="string[pyarrow]"),
        count_name: np.bincount(distinct, minlength=n).astype(np.int64),
        "n_plays": np.bincount(inter[idx].to_numpy(), weights=inter["plays"].to_numpy(), minlength=n).astype(np.int64),
    })


def _songs_table(inter: pd.DataFrame, songs: pd.DataFrame) -> pd.DataFrame:
    n = len(songs)
    rows = inter[inter["song_idx"] >= 0]
    return pd.DataFrame({
        "song_idx": np.arange(n, dtype=np.int32),
        "artist_idx": songs["artist_idx"].to_numpy(np.int32),
        "artist": pd.array(songs["artist"].to_numpy(), dtype="string[pyarrow]"),
        "track": pd.array(songs["track"].to_numpy(), dtype="string[pyarrow]"),
        "n_users": np.bincount(rows["song_idx"].to_numpy(), minlength=n).astype(np.int64),
        "n_plays": np.bincount(rows["song_idx"].to_numpy(), weights=rows["plays"].to_numpy(), minlength=n).astype(np.int64),
    })
