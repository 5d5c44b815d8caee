"""A format outside tastemap: one module that registers its declaration, named by
``input.module`` (tastemap.data.formats.registry). The module is written outside src/, as a user
would, and the real workflow ingests with it."""
from __future__ import annotations

import json
import sys

import pyarrow.parquet as pq
import pytest
import yaml
from conftest import run_snakemake

from tastemap import config as C
from tastemap.data.formats import load_listens, registry

#: the toy format: ``user;artist;plays`` lines, no track names, no timestamps
TOY_MODULE = '''\
"""A toy input format outside tastemap: one `user;artist;plays` line per listen."""
import pyarrow as pa

from tastemap.data.formats import REJECTED_SCHEMA, Format, register


def read(path, *, tracks_path=None, generic=None, block_bytes=None):
    lines = open(path, encoding="utf-8").read().splitlines()
    rows, bad = [], []
    for number, line in enumerate(lines, 1):
        parts = line.split(";")
        if len(parts) == 3 and parts[2].isdigit() and int(parts[2]) > 0:
            rows.append(parts)
        else:
            bad.append((number, line, "not user;artist;plays"))
    listens = pa.table({"user": [r[0] for r in rows], "artist": [r[1] for r in rows],
                        "plays": pa.array([int(r[2]) for r in rows], pa.int32())})
    rejected = pa.table({"line": [b[0] for b in bad], "raw": [b[1] for b in bad],
                         "reason": [b[2] for b in bad]}, schema=REJECTED_SCHEMA)
    return listens, rejected, {"lines": len(lines)}


register(Format("toy-semicolon", read, member="plays.ssv"))
'''
TOY_ROWS = ["alice;Björk;3", "bob;Can;1", "this line is broken", "alice;Can;2", "carol;Björk;0"]


def _toy_config(path: str, entities=("artist",)) -> dict:
    return {"dataset": "toyfmt", "entities": list(entities),
            "input": {"format": "toy-semicolon", "module": "toyformat", "path": path}}


def test_the_config_check_imports_the_outside_format(tmp_path, monkeypatch):
    """The config check imports input.module from the working directory and reads the
    declaration: the toy has no track names, so the song entity is refused."""
    (tmp_path / "toyformat.py").write_text(TOY_MODULE)
    (tmp_path / "plays.ssv").write_text("alice;Björk;3\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(registry, "REGISTRY", dict(registry.REGISTRY))
    monkeypatch.delitem(sys.modules, "toyformat", raising=False)
    try:
        assert C.check(_toy_config("plays.ssv")) == []
        assert registry.get("toy-semicolon").module == "toyformat"
        assert registry.KNOWN_MEMBERS["toy-semicolon"] == "plays.ssv"
        assert C.check(_toy_config("plays.ssv", ("artist", "song"))) == [
            "entities: 'song' needs track names, which input.format='toy-semicolon' does not "
            "have; set entities: [artist]"]
        wrong = _toy_config("plays.ssv") | {"input": {"format": "toy-other", "module": "toyformat",
                                                      "path": "plays.ssv"}}
        assert C.check(wrong) == ["input.module: toyformat registers no format named "
                                  f"'toy-other' (registered: {', '.join(registry.REGISTRY)})"]
    finally:
        sys.modules.pop("toyformat", None)


@pytest.mark.workflow
def test_the_workflow_ingests_an_outside_format(tmp_path):
    work = tmp_path / "run"
    work.mkdir()
    (work / "toyformat.py").write_text(TOY_MODULE)
    raw = tmp_path / "plays.ssv"  # the data outside the working directory, like a real file
    raw.write_text("\n".join(TOY_ROWS) + "\n")
    cfg = tmp_path / "toy.yaml"
    cfg.write_text(yaml.safe_dump(_toy_config(str(raw)), sort_keys=False))
    data = work / "results" / "toyfmt" / "data"
    run_snakemake(work, "results/toyfmt/data/listens.parquet", configfile=cfg)

    listens = load_listens(data / "listens.parquet")
    assert listens.to_pylist() == [
        {"user": "alice", "artist": "Björk", "track": None, "timestamp": None, "plays": 3},
        {"user": "bob", "artist": "Can", "track": None, "timestamp": None, "plays": 1},
        {"user": "alice", "artist": "Can", "track": None, "timestamp": None, "plays": 2}]
    rejected = pq.read_table(data / "rejected.parquet").to_pylist()
    assert [(r["line"], r["raw"]) for r in rejected] == [(3, "this line is broken"),
                                                          (5, "carol;Björk;0")]
    stats = json.loads((data / "ingest_stats.json").read_text())
    assert (stats["format"], stats["lines"], stats["kept"], stats["rejected"]) == (
        "toy-semicolon", 5, 3, 2)
    assert stats["rejected_by_reason"] == {"not user;artist;plays": 2}

    # the workflow's config check reads the declaration too: no track names, no song entity
    cfg.write_text(yaml.safe_dump(_toy_config(str(raw), ("artist", "song")), sort_keys=False))
    proc = run_snakemake(work, "results/toyfmt/data/listens.parquet", "-n", configfile=cfg,
                         check=False)
    assert proc.returncode != 0
    assert ("entities: 'song' needs track names, which input.format='toy-semicolon'"
            in proc.stdout + proc.stderr)
