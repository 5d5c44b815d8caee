"""Last.fm 1K (``userid-timestamp-artid-artname-traid-traname.tsv``): one scrobble per line,
6 tab-separated fields: user, ISO time, artist MBID, artist, track MBID, track. Lines with stray
tabs inside a name are recovered when the split is unambiguous."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa

from tastemap.data.formats.base import (
    BLOCK_BYTES,
    _empty,
    _null_if_empty,
    _Reasons,
    parse_iso_timestamps,
)
from tastemap.data.formats.blocks import Layout, run
from tastemap.data.formats.registry import Format, register

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _recover_lastfm1k(fields: list[str]) -> list[str] | None:
    """Re-assemble a Last.fm-1K line with stray tabs inside the artist or track name.

    ``fields`` has more than 6 tab-separated parts: user, timestamp, artist MBID, artist name
    (a+1 parts), track MBID, track name (the rest). The split is recoverable when exactly one
    choice of ``a`` puts an empty-or-UUID value at the track-MBID position (MBIDs never hold
    tabs); the parts of each name are then joined with a single space. Otherwise None.

    >>> _recover_lastfm1k(["u", "t", "", "Guns", "N' Roses", "", "Patience"])
    ['u', 't', '', "Guns N' Roses", '', 'Patience']
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
    return {"user": user, "artist": artist, "track": _null_if_empty(track), "timestamp": ts}, reasons


def read(path: Path, *, tracks_path=None, generic=None, block_bytes: int = BLOCK_BYTES,
         sink=None, rejected_sink=None) -> tuple[pa.Table, pa.Table, dict]:
    """Read a Last.fm-1K file (no side file, no options); stats add ``recovered_stray_tabs``."""
    recovered: list[int] = []

    def odd(split, nf):
        fields, pos, reasons = _odd_lastfm1k(split, nf)
        recovered.append(len(pos))
        return fields, pos, reasons

    listens, rejected, stats = run(path, "lastfm-1k", Layout(6, _validate_lastfm1k, odd),
                                   block_bytes=block_bytes, known=FORMAT.member,
                                   sink=sink, rejected_sink=rejected_sink)
    stats["recovered_stray_tabs"] = int(sum(recovered))
    return listens, rejected, stats


FORMAT = register(Format("lastfm-1k", read,
                         member="userid-timestamp-artid-artname-traid-traname.tsv",
                         has_tracks=True, has_timestamps=True, streams=True))
