"""Unit tests of tastemap.data.formats: exact values per format, block boundaries, heuristics, and the
ingest rule end to end (script + logged error) on small files."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tastemap.data import formats as F
from tastemap.data.formats import FormatError, read_listens

BAD = Path(__file__).resolve().parent / "data" / "bad"
A1 = "f1b1cf71-bd35-4e99-8624-24a6e15f133a"
T1 = "db16d0b3-b8ce-4aa8-a11a-e4d53cc7f8a6"
U1 = "00000c289a1829a808ac09c00daf10bc3c4e223b"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_lastfm1k_values_and_schema(tmp_path):
    path = write(tmp_path, "l.tsv",
                 f"user_000001\t2009-05-04T23:08:57Z\t{A1}\tDeep Dish\t{T1}\tFuck Me Im Famous\n"
                 f"user_000002\t2009-05-03T10:00:00Z\t\t坂本龍一\t\t\n"
                 f"user_000003\t2009-05-03T10:00:01Z\t\tThe\tBand\t{T1}\tThe\tWeight\n")
    listens, rejected, stats = read_listens("lastfm-1k", path)
    assert listens.schema == F.LISTENS_SCHEMA
    assert rejected.schema == F.REJECTED_SCHEMA and rejected.num_rows == 0
    assert listens.to_pylist() == [
        {"user": "user_000001", "artist": "Deep Dish", "track": "Fuck Me Im Famous",
         "timestamp": utc(2009, 5, 4, 23, 8, 57), "plays": 1},
        {"user": "user_000002", "artist": "坂本龍一", "track": None,
         "timestamp": utc(2009, 5, 3, 10, 0, 0), "plays": 1},
        {"user": "user_000003", "artist": "The Band", "track": "The Weight",
         "timestamp": utc(2009, 5, 3, 10, 0, 1), "plays": 1},
    ]
    assert stats == {"file": str(path), "format": "lastfm-1k", "lines": 3, "kept": 3, "rejected": 0,
                     "rejected_by_reason": {}, "header_lines": 0, "crlf_lines": 0,
                     "compression": None, "member": None, "recovered_stray_tabs": 1}


def test_recover_lastfm1k():
    base = ["u", "2009-05-04T23:08:57Z", A1]
    assert F._recover_lastfm1k(base + ["A", "B", T1, "t"]) == base + ["A B", T1, "t"]
    assert F._recover_lastfm1k(base + ["A", "", "t", "u"]) == base + ["A", "", "t u"]
    assert F._recover_lastfm1k(base + ["A", "", "", "t"]) is None  # two MBID candidates
    assert F._recover_lastfm1k(base + ["A", "B", "C", "t"]) is None  # no MBID candidate
    assert F._recover_lastfm1k(["u", "ts", "not-a-uuid", "A", "", "t", "x"]) is None


def test_bom_crlf_stripped():
    listens, _, stats = read_listens("lastfm-1k", BAD / "lastfm-1k" / "bom_crlf.tsv")
    assert listens.column("user").to_pylist()[0] == "user_000001"
    assert listens.column("track").to_pylist()[-1] == "La Femme d'Argent"
    assert stats["crlf_lines"] == 4


def test_bad_utf8_raw_text():
    _, rejected, _ = read_listens("lastfm-1k", BAD / "lastfm-1k" / "bad_utf8.tsv")
    assert rejected.to_pylist() == [{"line": 5, "reason": "invalid UTF-8",
                                     "raw": "user_000009\t2009-05-04T23:08:57Z\t\tMot\\xf6rhead\t\tAce"}]


@pytest.mark.parametrize("fmt,name", [("lastfm-1k", "stray_tabs.tsv"), ("lastfm-1k", "blank_lines.tsv"),
                                      ("lastfm-1k", "bom_crlf.tsv"), ("lastfm-360k", "play_counts.tsv"),
                                      ("lastfm-1k", "very_long_line.tsv")])
def test_block_boundaries_do_not_matter(fmt, name):
    """Reading in tiny blocks (lines cut across blocks) gives the same tables and line numbers."""
    path = BAD / fmt / name
    whole = read_listens(fmt, path)
    for block in (7, 64, 333):
        small = read_listens(fmt, path, block_bytes=block)
        assert small[0].equals(whole[0]) and small[1].equals(whole[1])
        assert small[2] == whole[2]


def test_lastfm360k_values():
    listens, rejected, _ = read_listens("lastfm-360k", BAD / "lastfm-360k" / "play_counts.tsv")
    assert listens.column("plays").to_pylist() == [2137, 1099, 1, 897] * 2 + [2147483647, 42]
    assert listens.column("plays").type == pa.int32()
    assert listens.column("timestamp").null_count == listens.num_rows
    assert listens.column("artist").to_pylist()[2] == '"Weird Al" Yankovic'
    assert rejected.slice(0, 2).to_pylist() == [
        {"line": 9, "raw": f"{U1}\t{A1}\tbetty blowtorch\tabc", "reason": "plays not an integer"},
        {"line": 10, "raw": f"{U1}\t{A1}\tbetty blowtorch\t12.5", "reason": "plays not an integer"},
    ]


def test_parse_counts():
    r = F._Reasons(7)
    got = F.parse_counts(pa.array(["1", " 7 ", "0", "-2", "x", "2147483648", "2147483647"]), r)
    assert got.tolist() == [1, 7, 0, 0, 0, 0, 2147483647]
    assert r.strings(np.arange(7)).to_pylist() == [
        "", "", "zero plays", "negative plays", "plays not an integer",
        "plays overflow (> 2147483647)", ""]


def test_parse_iso_timestamps():
    got = F.parse_iso_timestamps(pa.array(["2009-05-04T23:08:57Z", "2009-05-04T23:08:57+02:00",
                                           "2009-05-04 23:08:57", "2009-05-04", "2009-13-01", "x"]))
    assert got.to_pylist() == [utc(2009, 5, 4, 23, 8, 57), utc(2009, 5, 4, 21, 8, 57),
                               utc(2009, 5, 4, 23, 8, 57), utc(2009, 5, 4), None, None]


def test_msd_join_with_tracks():
    listens, _, stats = read_listens("msd-triplets", BAD / "msd-triplets" / "triplets.txt",
                                     tracks_path=BAD / "msd-triplets" / "unique_tracks.txt")
    assert [(r["artist"], r["track"], r["plays"]) for r in listens.to_pylist()] == [
        ("Faster Pussy cat", "Silent Night", 1), ("Karkkiautomaatti", "Tanssi vaan", 2),
        ("Hudson Mohawke", "No One Could Ever", 5),  # first of two lines with this song id
        ("Yerba Brava", None, 3),  # empty title -> null track
        ("Faster Pussy cat", "Silent Night", 1)]
    assert stats["tracks"] == {
        "file": str(BAD / "msd-triplets" / "unique_tracks.txt"), "lines": 6, "kept": 4,
        "rejected": 1, "duplicates": 1,
        "rejected_by_reason": {"expected 4 <SEP>-separated fields": 1}}


def test_msd_without_tracks_song_is_artist():
    listens, _, _ = read_listens("msd-triplets", BAD / "msd-triplets" / "triplets.txt")
    assert listens.column("artist").to_pylist()[:2] == ["SOQMMHC12AB0180CB8", "SOVFVAK12A8C1350D9"]
    assert listens.column("track").null_count == listens.num_rows


def test_hetrec_names_and_latin1():
    listens, _, stats = read_listens("hetrec-2k", BAD / "hetrec-2k" / "user_artists.dat",
                                     tracks_path=BAD / "hetrec-2k" / "artists.dat")
    assert [(r["user"], r["artist"], r["plays"]) for r in listens.to_pylist()] == [
        ("2", "MALICE MIZER", 13883), ("2", "Diary of Dreams", 11690), ("2", "Motörhead", 11351),
        ("3", "Björk", 228), ("3", "MALICE MIZER", 5), ("4", "Motörhead", 7)]
    assert stats["header_lines"] == 1
    assert stats["artists"]["latin1_lines"] == 1
    assert stats["artists"]["rejected_by_reason"] == {"duplicate id": 1, "blank line": 1}


def test_generic_csv_values():
    listens, _, _ = read_listens("generic", BAD / "generic" / "listens.csv", generic={
        "sep": ",", "header": True, "columns": {"user": "listener", "artist": "band", "track": "song",
                                                "timestamp": "when", "plays": "count"}})
    rows = listens.to_pylist()
    assert rows[0] == {"user": "alice", "artist": "Earth, Wind & Fire", "track": "September",
                       "timestamp": utc(2009, 5, 4, 23, 8, 57), "plays": 3}
    assert rows[2]["track"] is None and rows[2]["timestamp"] == utc(2009, 5, 4)


def test_generic_tsv_positions_ms():
    listens, _, _ = read_listens("generic", BAD / "generic" / "positions.tsv", generic={
        "sep": "\\t", "header": False, "timestamp_unit": "ms",
        "columns": {"user": "0", "artist": "1", "timestamp": "2"}})
    assert listens.to_pylist() == [
        {"user": "u1", "artist": "Artist A", "track": None,
         "timestamp": utc(2009, 5, 3, 22, 8, 57), "plays": 1},
        {"user": "u2", "artist": "Artist B", "track": None,
         "timestamp": utc(2009, 5, 3, 22, 8, 57), "plays": 1}]


def test_generic_bad_position_names_key(tmp_path):
    with pytest.raises(FormatError, match=r"input.generic.columns.artist: '5' is not a 0-based"):
        read_listens("generic", BAD / "generic" / "positions.tsv",
                     generic={"sep": "\t", "header": False, "columns": {"user": "0", "artist": "5"}})


def test_load_listens_restores_seconds(tmp_path):
    """Parquet stores timestamp[s] as milliseconds; load_listens gives seconds back."""
    listens, _, _ = read_listens("lastfm-1k", BAD / "lastfm-1k" / "duplicates.tsv")
    pq.write_table(listens, tmp_path / "l.parquet")
    assert pq.read_schema(tmp_path / "l.parquet").field("timestamp").type.unit == "ms"
    back = F.load_listens(tmp_path / "l.parquet")
    assert back.equals(listens)
    assert back.column("timestamp").cast(pa.int64()).to_pylist()[0] == 1241478537


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(FormatError, match="input.format: unknown format 'lastfm'"):
        read_listens("lastfm", tmp_path / "x.tsv")
    with pytest.raises(FormatError, match=r"x.tsv: file not found"):
        read_listens("lastfm-360k", tmp_path / "x.tsv")


def _line360(i, bad=False):
    return f"{U1}\t{A1}\tartist {i}\t{'x' if bad else i + 1}\n"


def test_wrong_format_threshold(tmp_path):
    """More than half of the first 1,000 non-blank lines rejected -> error; exactly half is not."""
    half = write(tmp_path, "half.tsv", "".join(_line360(i, bad=i % 2 == 0) for i in range(1000)))
    _, _, stats = read_listens("lastfm-360k", half)
    assert (stats["kept"], stats["rejected"]) == (500, 500)
    over = write(tmp_path, "over.tsv", "".join(_line360(i, bad=i < 501) for i in range(1000)) + "\n" * 50)
    with pytest.raises(FormatError, match=r"over.tsv: 501 of the first 1000 non-blank lines "
                                          r"cannot be read as lastfm-360k"):
        read_listens("lastfm-360k", over)
    # only the first 1,000 lines count: a good start followed by many bad lines passes
    late = write(tmp_path, "late.tsv", "".join(_line360(i, bad=i >= 1000) for i in range(3000)))
    _, _, stats = read_listens("lastfm-360k", late, block_bytes=4096)
    assert (stats["kept"], stats["rejected"]) == (1000, 2000)


def test_lone_carriage_return_is_one_line(tmp_path):
    path = write(tmp_path, "cr.tsv", f"{U1}\t{A1}\tA\rB\t3\n{U1}\t{A1}\tC\t4\n")
    listens, _, stats = read_listens("lastfm-360k", path)
    assert listens.column("artist").to_pylist() == ["A\rB", "C"] and stats["lines"] == 2


def test_simulated_malformed_lines_are_all_accounted(tmp_path):
    """The simulator's planted malformed lines come back exactly: stray tabs recovered, missing
    fields and bad timestamps rejected (1K); dates as users rejected (360K)."""
    from tastemap.data.simulate import simulate_to_files

    for layout in ("lastfm-1k", "lastfm-360k"):
        raw = tmp_path / f"{layout}.tsv"
        sim = simulate_to_files(raw, tmp_path / f"{layout}.parquet", {
            "layout": layout, "n_users": 60, "n_artists": 120, "n_genres": 3,
            "malformed_rate": 0.003, "seed": 5})
        listens, rejected, stats = read_listens(layout, raw)
        bad = sim["malformed"]
        assert stats["lines"] == sim["lines"]
        if layout == "lastfm-1k":
            assert stats["recovered_stray_tabs"] == bad["stray_tab"]
            assert stats["rejected_by_reason"] == {
                "too few fields (expected 6 tab-separated)": bad["missing_field"],
                "unparseable timestamp": bad["bad_timestamp"]}
        else:
            assert stats["rejected_by_reason"] == {"user id is a date (junk row)": bad["date_as_user"]}


def _ready_config(name: str) -> dict:
    import yaml

    return yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / name).read_text())


@pytest.mark.parametrize("name", ["lastfm-1k.yaml", "lastfm-360k.yaml", "msd.yaml", "hetrec-2k.yaml"])
def test_ready_configs_are_valid(name):
    import jsonschema
    import yaml

    schema = yaml.safe_load((Path(__file__).resolve().parents[1] / "src" / "tastemap" / "schemas"
                             / "config.schema.yaml").read_text())
    config = _ready_config(name)
    jsonschema.Draft202012Validator(schema).validate(config)
    assert config["dataset"] == name.removesuffix(".yaml")
    if config["input"]["format"] in ("lastfm-360k", "hetrec-2k"):
        assert config["entities"] == ["artist"]


@pytest.mark.workflow
def test_ingest_rule_on_tiny_run(tiny_run):
    data = tiny_run / "results" / "tiny" / "data"
    stats = json.loads((data / "ingest_stats.json").read_text())
    listens = F.load_listens(data / "listens.parquet")
    rejected = pq.read_table(data / "rejected.parquet")
    assert listens.schema.equals(F.LISTENS_SCHEMA, check_metadata=False)
    assert pq.read_schema(data / "listens.parquet").names == F.LISTENS_SCHEMA.names
    assert rejected.schema.equals(F.REJECTED_SCHEMA, check_metadata=False)
    assert stats["lines"] == stats["kept"] + stats["rejected"]
    assert (stats["kept"], stats["rejected"]) == (listens.num_rows, rejected.num_rows)
    assert stats["rejected"] > 0  # the simulator plants malformed lines
    log = (tiny_run / "results" / "tiny" / "logs" / "ingest.log").read_text()
    assert f"{stats['lines']} lines = {stats['kept']} kept + {stats['rejected']} rejected" in log


@pytest.mark.workflow
def test_ingest_rule_wrong_format_stops_with_message(tmp_path):
    import yaml
    from conftest import run_snakemake

    raw = BAD / "lastfm-1k" / "is_lastfm360k.tsv"
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump({"dataset": "bad", "entities": ["artist", "song"],
                                   "input": {"format": "lastfm-1k", "path": str(raw)}}))
    proc = run_snakemake(tmp_path, "results/bad/data/listens.parquet", "--configfile", str(cfg),
                         configfile=None, check=False)
    assert proc.returncode != 0
    log = (tmp_path / "results" / "bad" / "logs" / "ingest.log").read_text()
    assert f"ingest failed: {raw}: no line can be read as lastfm-1k" in log
    assert "Traceback" not in log
    assert not (tmp_path / "results" / "bad" / "data" / "listens.parquet").exists()


# ---- inputs as they are shipped: compressed files and archives ---------------------------------


def _compress(plain: Path, kind: str, out_dir: Path, member: str | None = None) -> Path:
    """``plain`` compressed as ``kind`` (or put in a zip / tar archive as ``member``, next to a
    README, as the datasets ship)."""
    import bz2
    import gzip
    import io
    import lzma
    import tarfile
    import zipfile

    data = plain.read_bytes()
    member = member or plain.name
    out = out_dir / f"{plain.name}.{kind}"
    if kind in ("gz", "bz2", "xz"):
        module = {"gz": gzip, "bz2": bz2, "xz": lzma}[kind]
        out.write_bytes(module.compress(data))
    elif kind == "zst":
        with pa.CompressedOutputStream(str(out), "zstd") as f:
            f.write(data)
    elif kind == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("dataset/README.txt", "about the data\n")
            z.writestr(f"dataset/{member}", data)
    else:  # tar, tar.gz, tar.bz2, tar.xz
        mode = "w" if kind == "tar" else "w:" + kind.split(".")[1]
        with tarfile.open(out, mode) as t:
            for name, blob in (("dataset/README.txt", b"about the data\n"), (f"dataset/{member}", data)):
                info = tarfile.TarInfo(name)
                info.size = len(blob)
                t.addfile(info, io.BytesIO(blob))
    return out


KINDS = ["gz", "bz2", "xz", "zst", "zip", "tar", "tar.gz", "tar.bz2", "tar.xz"]


def _real_format_inputs(tmp_path: Path) -> list[tuple[str, Path, Path | None]]:
    """One small file of each real format under its shipped name, with its side file."""
    from tastemap.data.simulate import simulate_to_files

    out = []
    for layout in ("lastfm-1k", "lastfm-360k"):
        raw = tmp_path / layout / F.KNOWN_MEMBERS[layout]
        raw.parent.mkdir()
        simulate_to_files(raw, tmp_path / f"{layout}.truth.parquet", {
            "layout": layout, "n_users": 30, "n_artists": 60, "n_genres": 3, "plays_per_user": 40,
            "artists_per_user": 10, "malformed_rate": 0.01, "seed": 3})
        out.append((layout, raw, None))
    for fmt, name, side, side_key in (("msd-triplets", "triplets.txt", "unique_tracks.txt", "msd-tracks"),
                                      ("hetrec-2k", "user_artists.dat", "artists.dat", "hetrec-artists")):
        (tmp_path / fmt).mkdir()
        raw = tmp_path / fmt / F.KNOWN_MEMBERS[fmt]
        raw.write_bytes((BAD / fmt / name).read_bytes())
        side_path = tmp_path / fmt / F.KNOWN_MEMBERS[side_key]
        side_path.write_bytes((BAD / fmt / side).read_bytes())
        out.append((fmt, raw, side_path))
    return out


def _without_source(stats: dict) -> dict:
    """Stats minus what names the input (file, compression, member; also of side files)."""
    drop = {"file", "compression", "member"}
    return {k: _without_source(v) if isinstance(v, dict) else v for k, v in stats.items()
            if k not in drop}


def test_compressed_inputs_give_the_same_listens(tmp_path):
    """Every real format, compressed (gzip, bzip2, xz, zstd) or in an archive next to a README
    (zip, tar, tar.gz, tar.bz2, tar.xz), with its side file compressed the same way: the same
    listens.parquet, rejected lines (numbers, text) and counts as the plain file - also when the
    blocks cut lines at other places."""
    for fmt, raw, side in _real_format_inputs(tmp_path):
        plain = read_listens(fmt, raw, tracks_path=side)
        assert plain[0].num_rows > 0 and plain[1].num_rows > 0  # kept and rejected lines both
        pq.write_table(plain[0], tmp_path / "plain.parquet")
        for kind in KINDS:
            out_dir = tmp_path / fmt / kind
            out_dir.mkdir()
            packed = _compress(raw, kind, out_dir)
            packed_side = _compress(side, kind, out_dir) if side else None
            for block in (F.BLOCK_BYTES, 1000) if kind in ("gz", "tar.bz2") else (F.BLOCK_BYTES,):
                listens, rejected, stats = read_listens(fmt, packed, tracks_path=packed_side,
                                                        block_bytes=block)
                pq.write_table(listens, tmp_path / "packed.parquet")
                assert pq.read_table(tmp_path / "packed.parquet").equals(
                    pq.read_table(tmp_path / "plain.parquet")), (fmt, kind)
                assert rejected.equals(plain[1]), (fmt, kind)
                assert _without_source(stats) == _without_source(plain[2]), (fmt, kind)
            assert stats["file"] == str(packed)
            expect = {"gz": "gzip", "bz2": "bzip2", "zst": "zstd"}.get(kind, kind)
            expect = {"tar.gz": "gzip tar", "tar.bz2": "bzip2 tar", "tar.xz": "xz tar"}.get(kind, expect)
            assert stats["compression"] == expect
            assert stats["member"] == (f"dataset/{raw.name}" if kind in ("zip",) or "tar" in kind else None)


def test_archive_member_choice(tmp_path):
    """Known name first; else the only data file (a second pass through a tar); else an error
    naming the members."""
    raw = BAD / "lastfm-360k" / "quotes.tsv"
    renamed = _compress(raw, "tar.gz", tmp_path, member="plays.tsv")  # not the known name
    listens, _, stats = read_listens("lastfm-360k", renamed)
    assert listens.num_rows == 4 and stats["member"] == "dataset/plays.tsv"
    two = tmp_path / "two.tar"
    import tarfile
    with tarfile.open(two, "w") as t:
        t.add(raw, "a.tsv")
        t.add(raw, "b.tsv")
    with pytest.raises(FormatError, match=r"two.tar: cannot tell which file .*usersha1-artmbid-"
                                          r"artname-plays.tsv.*\['a.tsv', 'b.tsv'\]"):
        read_listens("lastfm-360k", two)
    # HetRec ships one zip with every file: it serves as input.path and input.tracks_path
    import zipfile
    hetrec = tmp_path / "hetrec2011-lastfm-2k.zip"
    with zipfile.ZipFile(hetrec, "w") as z:
        for name in ("user_artists.dat", "artists.dat", "readme.txt"):
            z.writestr(name, (BAD / "hetrec-2k" / name).read_bytes() if name != "readme.txt" else "x")
    both = read_listens("hetrec-2k", hetrec, tracks_path=hetrec)
    plain = read_listens("hetrec-2k", BAD / "hetrec-2k" / "user_artists.dat",
                         tracks_path=BAD / "hetrec-2k" / "artists.dat")
    assert both[0].equals(plain[0]) and both[2]["artists"]["kept"] == plain[2]["artists"]["kept"]


def test_compressed_input_errors_name_the_file(tmp_path):
    import gzip

    empty = write(tmp_path, "empty.tsv.gz", gzip.compress(b""))
    with pytest.raises(FormatError, match=r"empty.tsv.gz: file is empty \(no bytes after decompression\)"):
        read_listens("lastfm-360k", empty)
    nested = write(tmp_path, "twice.gz", gzip.compress(gzip.compress(b"x\ty\n")))
    with pytest.raises(FormatError, match=r"twice.gz: the gzip data holds compressed data again"):
        read_listens("lastfm-360k", nested)
    utf16 = write(tmp_path, "u16.gz", gzip.compress("a\tb\tc\t1\n".encode("utf-16")))
    with pytest.raises(FormatError, match=r"u16.gz: line 1: the file is UTF-16"):
        read_listens("lastfm-360k", utf16)
    parquet_in_zip = _compress(BAD / "generic" / "listens.parquet", "zip", tmp_path)
    with pytest.raises(FormatError, match=r"listens.parquet.zip \(member dataset/listens.parquet\): "
                                          r"line 1: the file is Parquet data"):
        read_listens("generic", parquet_in_zip, generic={"columns": {"user": "uid", "artist": "name"}})


def test_plays_grammar_checks_what_it_converts():
    """The values Arrow's integer cast alone gets wrong: '+5' (a cast error that stopped the
    whole ingest) is 5; '0x10' (read as 16) and other non-decimal forms are rejected."""
    r = F._Reasons(8)
    values = pa.array(["+5", "0x10", "-0", "0005", "\u0663", "1e3", " +7 ", "0" * 30 + "9"])
    got = F.parse_counts(values, r)
    assert got.tolist() == [5, 0, 0, 5, 0, 0, 7, 9]
    assert r.strings(np.arange(8)).to_pylist() == [
        "", "plays not an integer", "zero plays", "", "plays not an integer",
        "plays not an integer", "", ""]
    only_hex = F._Reasons(3)  # the all-ASCII-digits fast path is not taken for '0x10'
    assert F.parse_counts(pa.array(["12", "0x10", "3"]), only_hex).tolist() == [12, 0, 3]


def test_text_size_estimates_what_ingest_will_read(tmp_path):
    """Memory requests follow the text inside a compressed file, not its compressed size."""
    import gzip

    from tastemap.data.formats.source import text_size

    plain = BAD / "lastfm-360k" / "quotes.tsv"
    n = plain.stat().st_size
    assert text_size(plain) == n
    assert text_size(write(tmp_path, "q.gz", gzip.compress(plain.read_bytes()))) == n
    assert text_size(_compress(plain, "zip", tmp_path)) == n
    assert text_size(_compress(plain, "xz", tmp_path)) == 6 * (tmp_path / "quotes.tsv.xz").stat().st_size
    assert text_size(tmp_path / "missing.tsv") == 0


def test_listens_written_block_by_block_equal_the_whole_table(tmp_path):
    """ingest hands kept rows to a ListensWriter block by block: the file has the same rows
    and the same row groups as writing the whole table at once; a file that fails the format
    check reaches the sink with nothing."""
    from tastemap.data.simulate import simulate_to_files

    raw = tmp_path / "plays.tsv"
    simulate_to_files(raw, tmp_path / "truth.parquet", {
        "layout": "lastfm-360k", "n_users": 30, "n_artists": 60, "n_genres": 3, "seed": 4})
    whole, rejected, stats = read_listens("lastfm-360k", raw)
    pq.write_table(whole, tmp_path / "whole.parquet", row_group_size=100)
    with F.ListensWriter(tmp_path / "sink.parquet", row_group_rows=100) as sink:
        none, rejected2, stats2 = read_listens("lastfm-360k", raw, block_bytes=3000, sink=sink)
    assert none is None and rejected2.equals(rejected) and stats2 == stats
    a, b = pq.ParquetFile(tmp_path / "whole.parquet"), pq.ParquetFile(tmp_path / "sink.parquet")
    assert b.read().equals(a.read())
    assert [b.metadata.row_group(i).num_rows for i in range(b.num_row_groups)] == \
        [a.metadata.row_group(i).num_rows for i in range(a.num_row_groups)]
    got = []
    with pytest.raises(FormatError, match="no line can be read as lastfm-360k"):
        read_listens("lastfm-360k", BAD / "lastfm-360k" / "is_lastfm1k.tsv", sink=got.append)
    assert got == []


# ---- bounded memory on damaged files (blank-line runs, endless lines, invalid UTF-8) ---------

DAMAGE = [b"user_1\tonly two\n", b"user_1\tyesterday\t\tA\t\tT\n", b"\t2009-05-04T23:08:57Z\t\tA\t\tT\n",
          b"u\t2009-05-04T23:08:57Z\t\tMot\xf6rhead\t\tAce\n", b"  \t \n", b"x" * 70_000 + b"\n"]


def _damaged_log(seed: int) -> bytes:
    """Good lines, then runs of empty lines, damaged lines and good lines in random order."""
    rng = np.random.default_rng(seed)
    good = b"user_%06d\t2009-05-04T23:08:57Z\t\tArtist %d\t\tTrack\n"
    parts = [good % (i, i) for i in range(1100)]
    for _ in range(2000):
        r = rng.random()
        parts.append(b"\n" * int(rng.integers(0, 30)) if r < 0.6 else
                     DAMAGE[int(rng.integers(len(DAMAGE)))] if r < 0.8 else good % (1, 2))
    return b"".join(parts)


@pytest.mark.parametrize("seed", [0, 1])
def test_pieces_and_empty_line_runs_do_not_matter(tmp_path, monkeypatch, seed):
    """Reading without the empty lines (every piece) or with them (none), in pieces of a few
    hundred lines or whole blocks, gives the same listens, rejected lines and counts."""
    from tastemap.data.formats import blocks

    path = write(tmp_path, "damaged.tsv", _damaged_log(seed))
    monkeypatch.setattr(blocks, "EMPTY_SHARE", 2.0)  # never take empty lines out
    whole = read_listens("lastfm-1k", path)
    monkeypatch.setattr(blocks, "EMPTY_SHARE", 0.0)  # always
    monkeypatch.setattr(blocks, "PIECE_LINES", 300)
    for block_bytes in (20_000, 1 << 20):
        cut = read_listens("lastfm-1k", path, block_bytes=block_bytes)
        assert cut[0].equals(whole[0]) and cut[1].equals(whole[1]) and cut[2] == whole[2]
    assert whole[2]["rejected_by_reason"]["blank line"] > 10_000


def test_rejected_sink_gets_every_rejected_line_in_order(tmp_path):
    """With a rejected sink, the rejected lines go there block by block, in line order, and
    nothing is returned; with the Parquet writer the file equals the table read without it."""
    path = write(tmp_path, "damaged.tsv", _damaged_log(2))
    _, rejected, stats = read_listens("lastfm-1k", path)
    pieces = []
    listens, none, stats_sunk = read_listens("lastfm-1k", path, block_bytes=50_000,
                                             rejected_sink=pieces.append)
    assert none is None and stats_sunk == stats and len(pieces) > 3
    assert pa.concat_tables(pieces).equals(rejected)
    with F.RejectedWriter(tmp_path / "rejected.parquet", row_group_rows=1000) as sink:
        read_listens("lastfm-1k", path, block_bytes=50_000, rejected_sink=sink)
    assert pq.read_table(tmp_path / "rejected.parquet").equals(rejected)


def test_an_endless_line_is_kept_to_its_head():
    """A line without end (a decompression bomb) is read on, but only its first bytes are kept:
    the blocks stay small, and the line is rejected as too long with its head as raw text."""
    import io

    from tastemap.data.formats.lines import _raw_blocks

    head = "é" * 40  # two-byte characters: the head ends on a whole character
    stream = io.BytesIO(b"a\tb\n" + head.encode() * 1000 + b"\nc\n")
    blocks = list(_raw_blocks(stream, block_bytes=64, max_line=100))
    assert max(len(data) for data, _ in blocks) <= 64 + 104
    text = b"".join(data[:end] for data, end in blocks).decode()
    assert text.split("\n")[:2] == ["a\tb", "é" * 52] and text.endswith("\nc\n")  # 104 bytes


@pytest.mark.parametrize("seed", range(5))
def test_bad_utf8_lines_match_pythons_decoder(seed):
    """The bulk UTF-8 check marks exactly the lines Python's strict decoder refuses (random bytes
    and every length of encoded characters, cut anywhere)."""
    from tastemap.data.formats.lines import _bad_utf8, _decode_in_python, _decode_slowly

    rng = np.random.default_rng(seed)
    chars = [0x41, 0x7F, 0x80, 0xE9, 0x7FF, 0x800, 0x20AC, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x1F600,
             0x10FFFF]
    lines = []
    for _ in range(3000):
        n = int(rng.integers(0, 8))
        if rng.random() < 0.5:
            line = bytes(rng.integers(0, 256, n, dtype=np.uint8)).replace(b"\n", b"x")
        else:
            line = "".join(chr(c) for c in rng.choice(chars, n)).encode()
            line = line[: int(rng.integers(0, len(line) + 1))]
        lines.append(line + b"\n")
    expected = []
    for line in lines:
        try:
            line.decode("utf-8")
            expected.append(False)
        except UnicodeDecodeError:
            expected.append(True)
    binary = pa.array(lines, pa.binary())
    assert _bad_utf8(binary).tolist() == expected
    text, bad = _decode_slowly(binary, block=256)
    slow_text, slow_bad = _decode_in_python(binary)
    assert text.equals(slow_text) and bad.tolist() == slow_bad.tolist() == expected


# ---- formats declare themselves (tastemap.data.formats.registry) ---------------------------------


def _schema() -> dict:
    import yaml

    return yaml.safe_load((Path(__file__).resolve().parents[1] / "src" / "tastemap" / "schemas"
                           / "config.schema.yaml").read_text())


def test_member_table_and_dispatch_come_from_the_declarations():
    from tastemap.data.formats import registry

    declared = registry.package_formats()
    assert F.FORMATS == tuple(f.name for f in declared) == (
        "lastfm-1k", "lastfm-360k", "msd-triplets", "hetrec-2k", "generic")
    table = {}
    for fmt in declared:
        assert fmt.module == f"tastemap.data.formats.{registry.PACKAGE[declared.index(fmt)]}"
        if fmt.member:
            table[fmt.name] = fmt.member
        table.update(fmt.side_files)
    assert dict(F.KNOWN_MEMBERS) == table == {
        "lastfm-1k": "userid-timestamp-artid-artname-traid-traname.tsv",
        "lastfm-360k": "usersha1-artmbid-artname-plays.tsv",
        "msd-triplets": "train_triplets.txt", "msd-tracks": "unique_tracks.txt",
        "hetrec-2k": "user_artists.dat", "hetrec-artists": "artists.dat"}
    from tastemap.data.formats import source

    assert source.KNOWN_MEMBERS is F.KNOWN_MEMBERS
    # the readers are the declared ones: read_listens goes through the declaration
    assert {f.name: f.reader.__module__ for f in declared}["msd-triplets"] == "tastemap.data.formats.msd"
    trackless = [f.name for f in declared if not f.gives_tracks(side_file=False)]
    assert trackless == ["lastfm-360k", "msd-triplets", "hetrec-2k"]
    assert [f.name for f in declared if not f.gives_tracks(side_file=True)] == [
        "lastfm-360k", "hetrec-2k"]


def _toy_reader(path, *, tracks_path=None, generic=None, block_bytes=None):
    lines = Path(path).read_text().splitlines()
    good = [(i, line.split(";")) for i, line in enumerate(lines, 1) if line.count(";") == 1]
    bad = [(i, line) for i, line in enumerate(lines, 1) if line.count(";") != 1]
    listens = pa.table({"user": [p[0] for _, p in good], "artist": [p[1] for _, p in good]})
    rejected = pa.table({"line": pa.array([i for i, _ in bad], pa.int64()),
                         "raw": [line for _, line in bad], "reason": ["no ;"] * len(bad)})
    return listens, rejected, {"lines": len(lines), "toy": True}


def test_a_registered_format_is_in_every_table(tmp_path, monkeypatch):
    """A format registered at run time (as an outside module does) is read by read_listens, is
    in the member table, and the song-entity check reads its declaration."""
    from tastemap import config as C
    from tastemap.data.formats import registry

    monkeypatch.setattr(registry, "REGISTRY", dict(registry.REGISTRY))
    toy = F.register(F.Format("toy-fmt", _toy_reader, member="toy.txt",
                              side_files={"toy-names": "names.txt"}, has_tracks=True,
                              tracks_need_side_file=True))
    assert registry.get("toy-fmt") is toy and "toy-fmt" not in F.FORMATS
    assert (F.KNOWN_MEMBERS["toy-fmt"], F.KNOWN_MEMBERS["toy-names"]) == ("toy.txt", "names.txt")

    raw = write(tmp_path, "toy.txt", "u1;A\nbroken\nu2;B\n")
    listens, rejected, stats = read_listens("toy-fmt", raw)
    assert listens.schema == F.LISTENS_SCHEMA and rejected.schema == F.REJECTED_SCHEMA
    assert listens.to_pylist() == [
        {"user": "u1", "artist": "A", "track": None, "timestamp": None, "plays": 1},
        {"user": "u2", "artist": "B", "track": None, "timestamp": None, "plays": 1}]
    assert stats == {"file": str(raw), "format": "toy-fmt", "lines": 3, "kept": 2, "rejected": 1,
                     "header_lines": 0, "rejected_by_reason": {"no ;": 1}, "toy": True}
    pieces = []  # a reader that does not stream: its tables go to the sinks whole
    assert read_listens("toy-fmt", raw, sink=pieces.append,
                        rejected_sink=pieces.append)[:2] == (None, None)
    assert [p.num_rows for p in pieces] == [2, 1]

    config = {"input": {"format": "toy-fmt", "module": "toymod", "tracks_path": None},
              "entities": ["artist", "song"]}
    assert C.songs_need_tracks(config) == [(("entities",), (
        "'song' needs track names, which input.format='toy-fmt' without input.tracks_path does "
        "not have; set entities: [artist]"))]
    assert C.songs_need_tracks({**config, "input": {**config["input"], "tracks_path": "n"}}) == []
    F.register(F.Format("toy-fmt", _toy_reader))  # its module again: the new declaration wins
    assert "toy-fmt" not in F.KNOWN_MEMBERS
    assert C.songs_need_tracks(config)[0][1].startswith(
        "'song' needs track names, which input.format='toy-fmt' does not have")
    assert C.input_format_registered(config) == []


def test_register_and_get_refuse_what_is_not_a_format(monkeypatch):
    from tastemap.data.formats import registry

    monkeypatch.setattr(registry, "REGISTRY", dict(registry.REGISTRY))
    for name in ("simulate", "given", "Toy", "to y", ""):
        with pytest.raises(ValueError, match="format name"):
            F.register(F.Format(name, _toy_reader))
    with pytest.raises(ValueError, match="'lastfm-1k' is registered by tastemap.data.formats.lastfm1k"):
        F.register(F.Format("lastfm-1k", _toy_reader))
    with pytest.raises(ValueError, match="input.module: lastfm-1k is one of tastemap's own"):
        registry.get("lastfm-1k", module="mymodule")
    with pytest.raises(ValueError, match="input.module: 'tastemap.data.formats.msd' is inside"):
        registry.get("toy", module="tastemap.data.formats.msd")
    with pytest.raises(ValueError, match="input.module: 'my module' is not a Python module"):
        registry.get("toy", module="my module")
    with pytest.raises(ModuleNotFoundError, match="input.module: no module 'no_such_toy_fmt'"):
        registry.get("toy", module="no_such_toy_fmt")
    with pytest.raises(ValueError, match=r"input.module: json registers no format named 'toy'"):
        registry.get("toy", module="json")


def test_a_reader_that_breaks_the_contract_is_named(tmp_path, monkeypatch):
    from tastemap.data.formats import registry

    monkeypatch.setattr(registry, "REGISTRY", dict(registry.REGISTRY))
    raw = write(tmp_path, "toy.txt", "u1;A\n")
    F.register(F.Format("toy-cols", lambda path, **_: (pa.table({"user": ["u"]}), None, {})))
    with pytest.raises(ValueError, match=r"format 'toy-cols' \(test_formats\): its reader "
                                         r"returned listens columns \['user'\]"):
        read_listens("toy-cols", raw)
    F.register(F.Format("toy-count", lambda path, **kw: (*_toy_reader(path)[:2], {"lines": 9})))
    with pytest.raises(ValueError, match="format 'toy-count' .*: its stats do not count its "
                                         "tables: lines 9, kept 1"):
        read_listens("toy-count", raw)


def test_schema_enum_and_prose_are_the_declarations():
    """The config schema's input.format enum is simulate + the declared formats (fix: put
    tastemap.data.formats.registry.schema_enum() there, then regenerate config/README.md); its
    prose names every format and every member file."""
    from tastemap.data.formats import registry

    inp = _schema()["properties"]["input"]
    assert inp["then"]["properties"]["format"]["enum"] == registry.schema_enum()
    assert inp["if"] == {"properties": {"module": {"type": "null"}}}
    assert "enum" not in inp["properties"]["format"]  # an outside format passes the schema
    simulate = _schema()["properties"]["simulate"]["properties"]["layout"]["enum"]
    assert set(simulate) <= set(F.FORMATS)
    prose = {key: " ".join(inp["properties"][key]["description"].split())
             for key in ("format", "path", "tracks_path")}
    for fmt in registry.package_formats():
        assert fmt.name in prose["format"], fmt.name
        assert fmt.member is None or fmt.member in prose["path"], fmt.member
        for member in fmt.side_files.values():
            assert member in prose["tracks_path"], member


def test_the_schema_refuses_an_unknown_format_unless_a_module_names_it():
    from tastemap import config as C

    assert C.check({"input": {"format": "lastfm"}}) == [
        "input.format: 'lastfm' is not one of ['simulate', 'lastfm-1k', 'lastfm-360k', "
        "'msd-triplets', 'hetrec-2k', 'generic']"]
    assert C.check({"input": {"format": "simulate", "module": "x"}}) == [
        "input.module: only for a format outside tastemap (input.format is simulate)"]
    problems = C.check({"input": {"format": "my-format", "module": "no_such_toy_fmt"}})
    assert problems[0].startswith("input.module: no module 'no_such_toy_fmt' on PYTHONPATH")


def test_declarations_are_true_of_the_readers(tmp_path):
    """has_tracks / tracks_need_side_file / has_timestamps say what the listens hold."""
    from tastemap.data.formats import registry

    inputs = {fmt: (raw, side) for fmt, raw, side in _real_format_inputs(tmp_path)}
    inputs["generic"] = (BAD / "generic" / "listens.csv", None)
    options = {"sep": ",", "header": True, "columns": {
        "user": "listener", "artist": "band", "track": "song", "timestamp": "when"}}
    for fmt in registry.package_formats():
        raw, side = inputs[fmt.name]
        for with_side in {side is not None, False}:
            listens, _, _ = read_listens(fmt.name, raw, tracks_path=side if with_side else None,
                                         generic=options)
            has_track = listens.column("track").null_count < listens.num_rows
            has_time = listens.column("timestamp").null_count < listens.num_rows
            assert has_track == fmt.gives_tracks(with_side), (fmt.name, with_side)
            assert has_time == fmt.has_timestamps, fmt.name
