"""HetRec 2011 Last.fm 2K (``user_artists.dat``): a header ``userID artistID weight``, then 3
tab-separated fields; names come from the side file ``artists.dat`` (id, name, url,
pictureURL; mixed UTF-8 and Latin-1)."""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tastemap.data.formats.base import BLOCK_BYTES, FormatError, _empty, _Reasons, parse_counts
from tastemap.data.formats.blocks import Layout, run
from tastemap.data.formats.registry import Format, register
from tastemap.data.formats.source import open_input

HETREC_HEADER = ["userID", "artistID", "weight"]
log = logging.getLogger("tastemap.data.formats")


def _artist_lines(path: Path) -> tuple[list[str], int]:
    """Lines of ``artists.dat`` (any compression), decoded as UTF-8 or else Latin-1 (count)."""
    with open_input(path, "HetRec artists.dat", FORMAT.side_files["hetrec-artists"]) as source:
        raw = source.stream.read()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    blines = raw.split(b"\n")
    if blines and blines[-1] == b"":
        blines.pop()
    lines, latin1 = [], 0
    for bline in blines:  # 17,632 lines: a loop handles the mixed encodings line by line
        try:
            line = bline.decode("utf-8")
        except UnicodeDecodeError:
            line, latin1 = bline.decode("latin-1"), latin1 + 1
        lines.append(line.rstrip("\r"))
    return lines, latin1


def read_hetrec_artists(path: str | Path) -> tuple[pa.Table, dict]:
    """Read HetRec ``artists.dat`` (header ``id name url pictureURL``, tab separated).

    The file mixes UTF-8 and Latin-1 in the wild: lines that are not valid UTF-8 are decoded as
    Latin-1 (counted in ``stats["latin1_lines"]``). Returns (table ``id, name``, first id wins;
    stats).
    """
    path = Path(path)
    lines, latin1 = _artist_lines(path)
    if not lines or lines[0].split("\t")[:2] != ["id", "name"]:
        found = lines[0][:80] if lines else ""
        raise FormatError(f"{path}: line 1: expected header 'id\\tname\\turl\\tpictureURL', "
                          f"found {found!r}")
    ids, names, counts, seen = [], [], Counter(), set()
    for line in lines[1:]:
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


def read(path: Path, *, tracks_path: str | Path | None = None, generic=None,
         block_bytes: int = BLOCK_BYTES, sink=None,
         rejected_sink=None) -> tuple[pa.Table, pa.Table, dict]:
    """Read HetRec ``user_artists.dat``, names from ``artists.dat`` when given (stats add
    ``artists``; no options)."""
    artists, extra = None, {}
    if tracks_path:
        artists, astats = read_hetrec_artists(tracks_path)
        extra = {"artists": astats}
    else:
        log.warning("%s: no HetRec artists.dat (input.tracks_path): artists are named by id", path)
    return run(path, "hetrec-2k", Layout(3, lambda f: _validate_hetrec(f, artists)),
               header=_hetrec_header(path), block_bytes=block_bytes, extra_stats=extra,
               known=FORMAT.member, sink=sink,
               rejected_sink=rejected_sink)


FORMAT = register(Format("hetrec-2k", read, member="user_artists.dat",
                         side_files={"hetrec-artists": "artists.dat"}, streams=True))
