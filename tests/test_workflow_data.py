"""The data stages through the real snakemake: outputs of simulate/ingest/prepare/matrices/split."""
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import TINY_CONFIG, dry_run_jobs, results, reversed_mappings

from tastemap.core import layout as L
from tastemap.data.formats import LISTENS_SCHEMA, load_listens
from tastemap.data.matrices import build_matrix, load_matrix

pytestmark = pytest.mark.workflow


def test_data_outputs(tiny_run):
    def res(template, **w):
        return results(tiny_run, template, **w)

    # Parquet stores second timestamps as [ms]; load_listens casts back to the canonical schema
    listens = load_listens(res(L.LISTENS))
    assert listens.schema.equals(LISTENS_SCHEMA)
    assert pq.read_schema(res(L.LISTENS)).field("timestamp").type.tz == "UTC"
    stats = json.loads(res(L.INGEST_STATS).read_text())
    rejected = pd.read_parquet(res(L.REJECTED))
    assert stats["lines"] == stats["kept"] + stats["rejected"]
    assert stats["kept"] == listens.num_rows and stats["rejected"] == len(rejected)
    assert len(rejected) > 0 and rejected["line"].min() >= 1  # the simulator writes a few bad lines

    inter = pd.read_parquet(res(L.INTERACTIONS))
    users = pd.read_parquet(res(L.USERS))
    artists = pd.read_parquet(res(L.ARTISTS))
    songs = pd.read_parquet(res(L.SONGS))
    assert users["user_idx"].tolist() == list(range(len(users)))
    assert artists["artist"].is_unique and songs[["artist", "track"]].drop_duplicates().shape[0] == len(songs)
    assert int(inter["plays"].sum()) == int(listens.column("plays").to_numpy().sum())  # no play lost
    assert (songs["n_users"] > 3).all()  # tiny.yaml: min_track_listeners 3

    ua = load_matrix(res(L.MATRIX, entity="artist"))
    us = load_matrix(res(L.MATRIX, entity="song"))
    assert ua.shape == (len(users), len(artists)) and us.shape == (len(users), len(songs))
    assert ua.dtype == np.float32 and ua.has_sorted_indices
    assert (ua != build_matrix(inter, "artist", len(users), len(artists))).nnz == 0
    mstats = json.loads(res(L.MATRIX_STATS).read_text())
    assert mstats["user_artist"]["nnz"] == ua.nnz and mstats["user_song"]["shape"] == list(us.shape)
    assert load_matrix(res(L.MATRIX, entity="artist"), binary=True).data.max() == 1.0

    for entity, full in (("artist", ua), ("song", us)):
        w = dict(seed=0, entity=entity)
        train, test = load_matrix(res(L.TRAIN, **w)), load_matrix(res(L.TEST, **w))
        held = load_matrix(res(L.HELD_OUT_VALID, **w)) + load_matrix(res(L.HELD_OUT_TEST, **w))
        assert (train + test + held != full).nnz == 0 and train.multiply(test).nnz == 0
        vtrain, vtest = load_matrix(res(L.VALID_TRAIN, **w)), load_matrix(res(L.VALID_TEST, **w))
        assert (vtrain + vtest != train).nnz == 0


@pytest.mark.usefixtures("tiny_run_to_myself")
def test_changing_seeds_schedules_nothing_upstream_of_split(tiny_run):
    jobs = dry_run_jobs(tiny_run, "--config", "seeds=[1,2]")
    assert jobs.get("split") == 2
    for upstream in ("simulate", "ingest", "prepare", "matrices"):
        assert upstream not in jobs, jobs


@pytest.mark.usefixtures("tiny_run_to_myself")
def test_nothing_to_do_after_a_complete_run(tiny_run):
    assert dry_run_jobs(tiny_run) == {}


@pytest.mark.usefixtures("tiny_run_to_myself")
def test_a_config_with_its_keys_in_another_order_reruns_nothing(tiny_run, tmp_path):
    """Snakemake compares params by repr(), and a dict's repr follows its key order: the
    workflow sorts every mapping of the config (tastemap.config.resolve), so rewriting the
    config in another key order plans no job. The schema's defaults stay unwritten."""
    tiny = yaml.safe_load(TINY_CONFIG.read_text())
    reordered = reversed_mappings(tiny)
    assert reordered == tiny and list(reordered) != list(tiny)
    assert list(reordered["simulate"]) != list(tiny["simulate"])  # a section that is a param
    path = tmp_path / "reordered.yaml"
    path.write_text(yaml.safe_dump(reordered, sort_keys=False))
    assert dry_run_jobs(tiny_run, configfile=path) == {}
