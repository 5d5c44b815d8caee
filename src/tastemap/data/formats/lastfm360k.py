"""Last.fm 360K (``usersha1-artmbid-artname-plays.tsv``): aggregated play counts, 4
tab-separated fields: user SHA-1, artist MBID, artist, plays. A few real rows carry a date where
the user id should be: they are rejected as junk."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tastemap.data.formats.base import BLOCK_BYTES, _empty, _np_bool, _Reasons, parse_counts
from tastemap.data.formats.blocks import Layout, run
from tastemap.data.formats.registry import Format, register

_MONTH_DATE = (r"(?i)^\s*(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}\s*$"
               r"|^\s*\d{4}-\d{2}-\d{2}([ T].*)?$|^\s*\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\s*$")


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


def read(path: Path, *, tracks_path=None, generic=None, block_bytes: int = BLOCK_BYTES,
         sink=None, rejected_sink=None) -> tuple[pa.Table, pa.Table, dict]:
    """Read a Last.fm-360K file (no side file, no options)."""
    return run(path, "lastfm-360k", Layout(4, _validate_lastfm360k), block_bytes=block_bytes,
               known=FORMAT.member, sink=sink, rejected_sink=rejected_sink)


FORMAT = register(Format("lastfm-360k", read, member="usersha1-artmbid-artname-plays.tsv",
                         streams=True))
