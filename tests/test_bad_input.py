"""The bad-input corpus (tests/data/bad/, made by make_corpus.py): every case ends exactly as
the table says - kept/rejected counts with reasons and line numbers, or a FormatError naming the
file and the problem. tests/data/bad/README.md shows the same table for people."""
from __future__ import annotations

from pathlib import Path

import pytest

from tastemap.data.formats import FormatError, read_listens

BAD = Path(__file__).resolve().parent / "data" / "bad"
GENERIC_CSV = {"sep": ",", "header": True, "columns": {
    "user": "listener", "artist": "band", "track": "song", "timestamp": "when", "plays": "count"}}
GENERIC_TSV = {"sep": "\t", "header": False, "timestamp_unit": "ms",
               "columns": {"user": "0", "artist": "1", "timestamp": "2"}}
GENERIC_ZIP = {"columns": {"user": "listener", "artist": "band"}}
GENERIC_PQ = {"columns": {"user": "uid", "artist": "name", "plays": "n", "timestamp": "t"}}
FEW = "too few fields (expected {} tab-separated)"
MANY = "too many fields (expected {} tab-separated)"

# (format, file, side file, generic, outcome); outcome is either
#   (lines, kept, {reason: count}, [rejected line numbers])  or  ("error", [text in the message])
CASES = [
    ("lastfm-1k", "stray_tabs.tsv", None, None,
     (8, 7, {"stray tabs, fields ambiguous": 1}, [8])),
    ("lastfm-1k", "missing_fields.tsv", None, None, (6, 4, {FEW.format(6): 2}, [5, 6])),
    ("lastfm-1k", "extra_column.tsv", None, None, (5, 5, {}, [])),
    ("lastfm-1k", "bad_timestamps.tsv", None, None,
     (7, 4, {"unparseable timestamp": 2, "empty timestamp": 1}, [5, 6, 7])),
    ("lastfm-1k", "empty_names.tsv", None, None,
     (7, 5, {"empty user": 1, "empty artist": 1}, [5, 6])),
    ("lastfm-1k", "bad_utf8.tsv", None, None, (5, 4, {"invalid UTF-8": 1}, [5])),
    ("lastfm-1k", "bom_crlf.tsv", None, None, (4, 4, {}, [])),
    ("lastfm-1k", "blank_lines.tsv", None, None, (7, 4, {"blank line": 3}, [2, 4, 6])),
    ("lastfm-1k", "very_long_line.tsv", None, None,
     (6, 5, {"line too long (> 65536 bytes)": 1}, [5])),
    ("lastfm-1k", "duplicates.tsv", None, None, (6, 6, {}, [])),
    ("lastfm-1k", "no_final_newline.tsv", None, None, (4, 4, {}, [])),
    ("lastfm-1k", "empty.tsv", None, None, ("error", ["empty.tsv", "file is empty"])),
    ("lastfm-1k", "only_blank_lines.tsv", None, None,
     ("error", ["only_blank_lines.tsv", "only blank lines"])),
    ("lastfm-1k", "is_lastfm360k.tsv", None, None,
     ("error", ["is_lastfm360k.tsv", "no line can be read as lastfm-1k", "line 1", FEW.format(6)])),
    ("lastfm-1k", "gzip.tsv", None, None, (4, 4, {}, [])),
    ("lastfm-1k", "utf16.tsv", None, None,
     ("error", ["utf16.tsv", "line 1", "UTF-16 (little-endian) text", "iconv"])),
    ("lastfm-1k", "bomb.tsv.gz", None, None,
     (9, 8, {"line too long (> 65536 bytes)": 1}, [5])),
    ("lastfm-1k", "runaway_blank_lines.tsv.gz", None, None,
     (1_001_008, 8, {"blank line": 1_001_000}, list(range(5, 1_001_005)))),
    ("lastfm-1k", "truncated.tsv.gz", None, None,
     ("error", ["truncated.tsv.gz", "gzip data is corrupt or truncated"])),
    ("lastfm-1k", "truncated.tsv.bz2", None, None,
     ("error", ["truncated.tsv.bz2: bzip2 data is corrupt or truncated", "EOFError"])),
    ("lastfm-1k", "truncated.tsv.xz", None, None,
     ("error", ["truncated.tsv.xz: xz data is corrupt or truncated", "EOFError"])),
    ("lastfm-1k", "truncated.tsv.zst", None, None,
     ("error", ["truncated.tsv.zst: zstd data is corrupt or truncated"])),
    ("lastfm-1k", "lastfm-dataset-1K.tar.gz", None, None, (4, 4, {}, [])),
    ("lastfm-1k", "truncated_lastfm-dataset-1K.tar.gz", None, None,
     ("error", ["truncated_lastfm-dataset-1K.tar.gz: gzip data is corrupt or truncated"])),
    ("lastfm-1k", "hostile_names.zip", None, None,
     ("error", ["hostile_names.zip: cannot tell which file of the archive to read as lastfm-1k",
                "['../../etc/passwd', '/abs/path.tsv', '<img src=x onerror=alert(1)>.tsv', 'long_x",
                "x.tsv', 'new\\nline.tsv']"])),
    ("lastfm-1k", "hostile_names.tar", None, None, (4, 4, {}, [])),
    ("lastfm-360k", "junk_date_users.tsv", None, None,
     (6, 4, {"user id is a date (junk row)": 2}, [5, 6])),
    ("lastfm-360k", "play_counts.tsv", None, None,
     (17, 10, {"plays not an integer": 3, "plays overflow (> 2147483647)": 2, "negative plays": 1,
               "zero plays": 1}, [9, 10, 11, 12, 13, 14, 17])),
    ("lastfm-360k", "fields.tsv", None, None,
     (8, 4, {MANY.format(4): 1, FEW.format(4): 1, "empty artist": 1, "empty user": 1}, [5, 6, 7, 8])),
    ("lastfm-360k", "quotes.tsv", None, None, (4, 4, {}, [])),
    ("lastfm-360k", "crlf_bom.tsv", None, None, (4, 4, {}, [])),
    ("lastfm-360k", "is_lastfm1k.tsv", None, None,
     ("error", ["is_lastfm1k.tsv", "no line can be read as lastfm-360k", MANY.format(4)])),
    ("lastfm-360k", "gzip.tsv", None, None, (4, 4, {}, [])),
    ("lastfm-360k", "plays_parser.tsv", None, None,
     (12, 7, {"plays not an integer": 4, "zero plays": 1}, [6, 7, 8, 9, 11])),
    ("lastfm-360k", "utf16_no_bom.tsv", None, None,
     ("error", ["utf16_no_bom.tsv", "UTF-16 (little-endian) text"])),
    ("lastfm-360k", "lastfm-dataset-360K.tar.gz", None, None, (4, 4, {}, [])),
    ("lastfm-360k", "empty.tsv", None, None, ("error", ["empty.tsv", "file is empty"])),
    ("msd-triplets", "triplets.txt", "unique_tracks.txt", None,
     (9, 5, {"song id not in tracks file": 1, "plays not an integer": 1, FEW.format(3): 1,
             MANY.format(3): 1}, [6, 7, 8, 9])),
    ("msd-triplets", "triplets.txt", None, None,
     (9, 6, {"plays not an integer": 1, FEW.format(3): 1, MANY.format(3): 1}, [7, 8, 9])),
    ("msd-triplets", "is_lastfm1k.txt", None, None,
     ("error", ["is_lastfm1k.txt", "no line can be read as msd-triplets"])),
    ("msd-triplets", "hex_counts.txt", None, None, (4, 3, {"plays not an integer": 1}, [4])),
    ("msd-triplets", "train_triplets.7z", None, None,
     ("error", ["train_triplets.7z", "line 1", "7z data", "extract the file"])),
    ("msd-triplets", "train_triplets.txt.zip", "unique_tracks.txt", None, (3, 3, {}, [])),
    ("msd-triplets", "truncated_train_triplets.txt.zip", None, None,
     ("error", ["truncated_train_triplets.txt.zip: cannot read the zip archive: it is corrupt or "
                "truncated"])),
    ("hetrec-2k", "user_artists.dat", "artists.dat", None,
     (10, 6, {"artist id not in artists file": 1, "negative weight": 1, "weight not an integer": 1,
              "blank line": 1}, [7, 8, 9, 10])),
    ("hetrec-2k", "user_artists.dat", None, None,
     (10, 7, {"negative weight": 1, "weight not an integer": 1, "blank line": 1}, [8, 9, 10])),
    ("hetrec-2k", "hetrec2011-lastfm-2k.zip", "hetrec2011-lastfm-2k.zip", None,
     (4, 3, {"artist id not in artists file": 1}, [5])),
    ("hetrec-2k", "crlf.dat", "artists.dat", None, (2, 2, {}, [])),
    ("hetrec-2k", "header_only.dat", None, None, ("error", ["header_only.dat", "only a header line"])),
    ("hetrec-2k", "no_header.dat", None, None,
     ("error", ["no_header.dat", "line 1", "expected header 'userID artistID weight'"])),
    ("hetrec-2k", "artists_as_listens.dat", None, None,
     ("error", ["artists_as_listens.dat", "line 1", "found 'id\\tname\\turl\\tpictureURL'"])),
    ("generic", "listens.csv", None, GENERIC_CSV,
     (12, 7, {"negative plays": 1, "unparseable timestamp": 1, "blank line": 1,
              "wrong number of fields (expected 5)": 1, "empty user": 1}, [5, 6, 7, 8, 9])),
    ("generic", "listens.csv", None, {**GENERIC_CSV, "columns": {"user": "listener", "artist": "artist"}},
     ("error", ["listens.csv", "line 1", "no column 'artist'", "input.generic.columns.artist"])),
    ("generic", "positions.tsv", None, GENERIC_TSV, (3, 2, {"unparseable timestamp": 1}, [3])),
    ("generic", "listens.parquet", None, GENERIC_PQ,
     (5, 2, {"negative plays": 1, "empty artist": 1, "empty user": 1}, [2, 3, 4])),
    ("generic", "one_csv.zip", None, GENERIC_ZIP, (2, 2, {}, [])),
    ("generic", "two_csv.zip", None, GENERIC_ZIP,
     ("error", ["two_csv.zip", "cannot tell which file of the archive", "['a.csv', 'b.csv']"])),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{i:02d}-{c[0]}/{c[1]}" for i, c in enumerate(CASES)])
def test_bad_input_case(case):
    fmt, name, side, generic, outcome = case
    path = BAD / fmt / name
    tracks = BAD / fmt / side if side else None
    if outcome[0] == "error":
        with pytest.raises(FormatError) as err:
            read_listens(fmt, path, tracks_path=tracks, generic=generic)
        for text in outcome[1]:
            assert text in str(err.value), str(err.value)
        return
    lines, kept, by_reason, rejected_lines = outcome
    listens, rejected, stats = read_listens(fmt, path, tracks_path=tracks, generic=generic)
    assert stats["lines"] == lines == stats["kept"] + stats["rejected"]
    assert (stats["kept"], listens.num_rows) == (kept, kept)
    assert stats["rejected_by_reason"] == by_reason
    assert rejected.column("line").to_pylist() == rejected_lines
    assert sorted(rejected.column("reason").to_pylist()) == sorted(
        r for r, n in by_reason.items() for _ in range(n))


def test_corpus_is_complete_and_documented():
    """Every corpus file is used by a case, and the README table lists every case."""
    used = {(c[0], c[1]) for c in CASES} | {(c[0], c[2]) for c in CASES if c[2]}
    files = {(p.parent.name, p.name) for p in BAD.glob("*/*") if p.is_file()}
    assert files == used
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    for fmt, name, *_ in CASES:
        assert f"`{fmt}/{name}`" in readme, name


def make_corpus():
    """The module tests/data/bad/make_corpus.py."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", BAD / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_corpus_files_match_generator():
    """The committed files are exactly what make_corpus.py writes (nothing edited by hand)."""
    for name, data in make_corpus().files().items():
        if name.endswith(".parquet"):
            continue  # Parquet embeds the writer version; its content is checked by its case
        assert (BAD / name).read_bytes() == data, name


def test_hostile_member_names_are_only_data(tmp_path, monkeypatch):
    """Archives whose member names climb out of the folder, are absolute, carry markup, are very
    long or hold a newline: the reader streams the members and never extracts, so nothing is
    written anywhere; a name shows up only as data (the stats' member, an escaped repr in the
    message)."""
    import json
    import shutil

    corpus = make_corpus()
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    for name in ("hostile_names.zip", "hostile_names.tar"):
        shutil.copy(BAD / "lastfm-1k" / name, deep / name)
    monkeypatch.chdir(deep)  # ../../etc/passwd would land in tmp_path/a/etc
    before = sorted(tmp_path.rglob("*"))
    outside = [Path("/abs"), Path("/abs/path.tsv"), Path("/abs/README.txt")]
    existed = [p.exists() for p in outside]

    with pytest.raises(FormatError) as err:
        read_listens("lastfm-1k", "hostile_names.zip")
    message = str(err.value)
    assert "\n" not in message  # the newline of a name is escaped: one line
    assert message.startswith("hostile_names.zip: cannot tell which file of the archive")
    assert str(corpus.HOSTILE_NAMES) in message  # every name, quoted as data

    listens, rejected, stats = read_listens("lastfm-1k", "hostile_names.tar")
    assert (stats["kept"], stats["compression"]) == (4, "tar")
    assert stats["member"] == corpus.HOSTILE_MEMBER  # kept verbatim, newline and markup included
    assert json.loads(json.dumps(stats))["member"] == corpus.HOSTILE_MEMBER
    names = {str(v) for c in listens.columns for v in c.to_pylist()}
    assert not any("onerror" in v or "../" in v for v in names)  # the name is not in the rows

    assert sorted(tmp_path.rglob("*")) == before  # nothing written in the folder or above it
    assert [p.exists() for p in outside] == existed
    assert not (tmp_path / "a" / "etc").exists() and not (tmp_path / "etc").exists()
