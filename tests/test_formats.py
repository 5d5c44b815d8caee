"""Unit tests of tastemap.formats: exact values per format, block boundaries, heuristics, and the
ingest rule end to end (script + logged error) on small files."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tastemap import formats as F
from tastemap.formats import FormatError, read_listens

BAD = Path(__file__).resolve().parent / "data" / "bad"
A1 = "f1b1cf71-bd35-4e99-8624-24a6e15f133a"
T1 = "db16d0b3-b8ce-4aa8-a11a-e4d53cc7f8a6"
U1 = "00000c289a1829a808ac09c00daf10bc3c4e223b"


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


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
        {"user": "u1", "artist": "Artist A", "track": None, "timestamp": utc(2009, 5, 3, 22, 8, 57), "plays": 1},
        {"user": "u2", "artist": "Artist B", "track": None, "timestamp": utc(2009, 5, 3, 22, 8, 57), "plays": 1}]


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
    with pytest.raises(FormatError, match=r"over.tsv: 501 of the first 1000 non-blank lines cannot be read as lastfm-360k"):
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
    from tastemap.simulate import simulate_to_files

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

    schema = yaml.safe_load((Path(__file__).resolve().parents[1] / "workflow" / "schemas"
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
