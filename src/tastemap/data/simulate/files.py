"""Writing the simulated log in the Last.fm layouts, with a few malformed lines as the real files
have, and :func:`simulate_to_files`, the whole generator from spec to files."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tastemap.data.simulate.listening import Pairs, Scrobbles, simulate_pairs, simulate_scrobbles
from tastemap.data.simulate.spec import SimulationSpec, _rngs
from tastemap.data.simulate.world import World, make_world, truth_table

log = logging.getLogger("tastemap.data.simulate")

#: Lines per chunk when writing; bounds memory (a 1K-layout line is ~130 bytes).
CHUNK_LINES = 1_000_000


def _write_lines(f, lines: pa.Array) -> None:
    """Write a string array whose values already end in newlines, straight from its buffer."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    lo, hi = offsets[lines.offset], offsets[lines.offset + len(lines)]
    f.write(memoryview(lines.buffers()[2])[lo:hi])


def _malformed_rows(n: int, spec: SimulationSpec) -> tuple[np.ndarray, np.ndarray]:
    """Sorted line indices to corrupt and the kind of each (0, 1, 2 cycling)."""
    if spec.malformed_rate <= 0 or n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    count = min(n, max(3, int(round(spec.malformed_rate * n))))
    rows = np.sort(_rngs(spec.seed)["malformed"].choice(n, size=count, replace=False))
    return rows, np.arange(count) % 3


_BAD_TIMESTAMPS = ("2009-13-45T27:61:00Z", "0000-00-00T00:00:00Z", "2009-04-08 01:57")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _corrupt_1k(fields: list[str], kind: int, j: int) -> str:
    """A Last.fm-1K line made malformed: 0 stray tab in the track name, 1 a missing field
    (no track MBID column), 2 an unparseable timestamp."""
    f = list(fields)
    if kind == 0:
        f[5] = f[5].replace(" ", "\t", 1) if " " in f[5] else f[5] + "\t(bonus)"
    elif kind == 1:
        del f[4]
    else:
        f[1] = _BAD_TIMESTAMPS[j % len(_BAD_TIMESTAMPS)]
    return "\t".join(f) + "\n"


def write_lastfm_1k(path: str | Path, world: World, scrobbles: Scrobbles,
                    spec: SimulationSpec) -> dict:
    """Write scrobbles as Last.fm-1K TSV: user, ISO time, artist MBID, artist, track MBID, track.

    No header, tab separated, UTF-8, chronological per user. ``malformed_rate`` of the lines
    (at least 3) are malformed, cycling through three kinds (see ``_corrupt_1k``).

    Returns
    -------
    dict with ``lines`` (total written) and ``malformed`` (per kind and total).
    """
    n = len(scrobbles.user)
    bad_rows, bad_kind = _malformed_rows(n, spec)
    with open(path, "wb") as f:
        for lo in range(0, n, CHUNK_LINES):
            hi = min(n, lo + CHUNK_LINES)
            u = pa.array(scrobbles.user[lo:hi])
            a = pa.array(scrobbles.artist[lo:hi])
            t = pa.array(scrobbles.track[lo:hi])
            ts = pc.cast(pa.array(scrobbles.timestamp[lo:hi]).cast(pa.timestamp("s")), pa.string())
            ts = pc.binary_join_element_wise(pc.replace_substring(ts, " ", "T"), "", "Z")
            cols = [world.user_name.take(u), ts, world.artist_mbid.take(a),
                    world.artist_name.take(a), world.track_mbid.take(t), world.track_name.take(t)]
            lines = pc.binary_join_element_wise(
                pc.binary_join_element_wise(*cols, "\t"), "", "\n")
            sel = (bad_rows >= lo) & (bad_rows < hi)
            if sel.any():
                mask = np.zeros(hi - lo, dtype=bool)
                mask[bad_rows[sel] - lo] = True
                new = [_corrupt_1k([c[i - lo].as_py() for c in cols], kind, j)
                       for j, (i, kind) in enumerate(zip(bad_rows[sel], bad_kind[sel]))]
                lines = pc.replace_with_mask(lines, pa.array(mask), pa.array(new, pa.string()))
            _write_lines(f, lines)
    kinds = np.bincount(bad_kind, minlength=3)
    return {"lines": n, "malformed": {"stray_tab": int(kinds[0]), "missing_field": int(kinds[1]),
                                      "bad_timestamp": int(kinds[2]), "total": int(len(bad_rows))}}


def write_lastfm_360k(path: str | Path, world: World, pairs: Pairs, spec: SimulationSpec) -> dict:
    """Write play counts as Last.fm-360K TSV: user SHA-1, artist MBID, artist, plays.

    No header, tab separated; users in sorted order, each user's artists by plays descending.
    ``malformed_rate`` of the rows (at least 3) are junk as in the real file: a date such as
    ``Sep 20, 2008`` where the user id should be.

    Returns
    -------
    dict with ``lines`` and ``malformed`` (``date_as_user`` and ``total``).
    """
    order = np.lexsort((-pairs.plays, pairs.user))
    n = len(order)
    bad_rows, _ = _malformed_rows(n, spec)
    rb = np.random.default_rng(np.random.SeedSequence([spec.seed, 360]))
    dates = [f"{_MONTHS[m]} {d}, {y}" for m, d, y in zip(
        rb.integers(0, 12, len(bad_rows)), rb.integers(1, 29, len(bad_rows)),
        rb.integers(2002, 2010, len(bad_rows)))]
    with open(path, "wb") as f:
        for lo in range(0, n, CHUNK_LINES):
            hi = min(n, lo + CHUNK_LINES)
            idx = order[lo:hi]
            users = world.user_name.take(pa.array(pairs.user[idx]))
            sel = (bad_rows >= lo) & (bad_rows < hi)
            if sel.any():
                mask = np.zeros(hi - lo, dtype=bool)
                mask[bad_rows[sel] - lo] = True
                users = pc.replace_with_mask(
                    users, pa.array(mask), pa.array(np.asarray(dates, dtype=object)[sel].tolist(),
                                                    pa.string()))
            a = pa.array(pairs.artist[idx])
            cols = [users, world.artist_mbid.take(a), world.artist_name.take(a),
                    pc.cast(pa.array(pairs.plays[idx]), pa.string())]
            _write_lines(f, pc.binary_join_element_wise(
                pc.binary_join_element_wise(*cols, "\t"), "", "\n"))
    return {"lines": n, "malformed": {"date_as_user": int(len(bad_rows)),
                                      "total": int(len(bad_rows))}}


def simulate_to_files(listens_path: str | Path, truth_path: str | Path,
                      params: Mapping | SimulationSpec) -> dict:
    """Simulate a listening log and write it with its planted truth.

    Parameters
    ----------
    listens_path : path
        The TSV to write, in ``spec.layout``.
    truth_path : path
        The ``truth.parquet`` to write (see :func:`truth_table`).
    params : mapping or SimulationSpec
        The ``simulate`` config section.

    Returns
    -------
    dict
        Sizes (users, artists, tracks, pairs, lines) and malformed-line counts.
    """
    spec = params if isinstance(params, SimulationSpec) else SimulationSpec.from_params(params)
    world = make_world(spec)
    n_tracks = int(world.n_tracks.sum()) if world.track_name is not None else 0
    log.info("world: %d users, %d artists, %d tracks, %d genres", spec.n_users, spec.n_artists,
             n_tracks, spec.n_genres)
    pairs = simulate_pairs(world, spec)
    log.info("pairs: %d (user, artist) with %d plays", len(pairs.plays), int(pairs.plays.sum()))
    if spec.layout == "lastfm-1k":
        scrobbles = simulate_scrobbles(world, spec, pairs)
        out = write_lastfm_1k(listens_path, world, scrobbles, spec)
        del scrobbles
    else:
        out = write_lastfm_360k(listens_path, world, pairs, spec)
    log.info("wrote %d lines to %s, %d malformed on purpose: %s", out["lines"], listens_path,
             out["malformed"]["total"], out["malformed"])
    pq.write_table(truth_table(world), truth_path)
    return {"layout": spec.layout, "users": spec.n_users, "artists": spec.n_artists,
            "tracks": n_tracks, "pairs": len(pairs.plays),
            "plays": int(pairs.plays.sum()), **out}
