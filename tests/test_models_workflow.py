"""Workflow tests of the models stage on the shared tiny run (tests/config/tiny.yaml)."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import TINY_CONFIG, dry_run_jobs, results, run_snakemake
from tastemap import layout as L
from tastemap.matrices import load_matrix

pytestmark = pytest.mark.workflow

CLASSIC = {"als": "f64", "bpr": "f64", "itemknn": "k50", "userknn": "k50",
           "popularity": "default", "ease": "l500"}
FILES = [L.MODEL, L.RECOMMENDATIONS, L.SIMILAR, L.HISTORY]
TINY = yaml.safe_load(TINY_CONFIG.read_text())
#: (model, entity) pairs the tiny config fits: a model's `entities` key, or every entity
RUNS = [(m, e) for m in sorted(CLASSIC) for e in ("artist", "song")
        if e in TINY.get("models", {}).get(m, {}).get("entities", TINY["entities"])]


def _fit(run, template, entity, model, fit="full"):
    """A file of the seed-0 fit of ``model`` (its variant in the tiny config) on ``entity``."""
    return results(run, template, entity=entity, model=model, variant=CLASSIC[model], seed=0,
                   fit=fit)


def _truth(run, entity_names):
    truth = pd.read_parquet(run / L.path(L.SIMULATED_TRUTH, dataset="tiny"))
    genre = truth[truth["kind"] == "artist"].set_index("name")["genre"]
    return genre.reindex(entity_names).to_numpy()


@pytest.mark.parametrize("model,entity", RUNS)
def test_every_fit_written_and_never_recommends_played(tiny_run, model, entity):
    n_users = len(pd.read_parquet(results(tiny_run, L.USERS)))
    for fit, matrix in [("full", results(tiny_run, L.MATRIX, entity=entity)),
                        ("train", results(tiny_run, L.TRAIN, entity=entity, seed=0))]:
        for f in FILES:
            # similar items come from full fits only
            path = _fit(tiny_run, f, entity, model, fit)
            assert path.exists() == (fit == "full" or f != L.SIMILAR), path
        recs = pd.read_parquet(_fit(tiny_run, L.RECOMMENDATIONS, entity, model, fit))
        assert recs["user_idx"].nunique() == n_users
        played = load_matrix(matrix).toarray() > 0
        assert not played[recs["user_idx"], recs["item_idx"]].any()
        assert recs["rank"].min() == 1
        if fit == "full":
            sim = pd.read_parquet(_fit(tiny_run, L.SIMILAR, entity, model))
            assert (sim["item_idx"] != sim["similar_idx"]).all()


@pytest.mark.parametrize("model", ["als", "itemknn"])
def test_similar_artists_share_planted_genre(tiny_run, model):
    sim = pd.read_parquet(_fit(tiny_run, L.SIMILAR, "artist", model))
    sim = sim[sim["rank"] <= 10]
    g_item = _truth(tiny_run, sim["item"].to_numpy())
    g_sim = _truth(tiny_run, sim["similar"].to_numpy())
    same = pd.Series(g_item == g_sim).groupby(sim["item_idx"].to_numpy()).mean()
    assert same.mean() >= 0.8, f"{model}: {same.mean():.0%} of top-10 similar artists share the genre"


def test_als_extras(tiny_run):
    hist = pd.read_parquet(_fit(tiny_run, L.HISTORY, "artist", "als"))
    assert list(hist.columns) == ["epoch", "split", "metric", "value"]
    assert len(hist) == 15 and hist["value"].iloc[-1] < hist["value"].iloc[0]
    expl = pd.read_parquet(_fit(tiny_run, L.EXPLANATIONS, "artist", "als"))
    assert expl["user_idx"].nunique() == 20
    played = load_matrix(results(tiny_run, L.MATRIX, entity="artist")).toarray() > 0
    assert played[expl["user_idx"], expl["played_idx"]].all()
    for figure in (L.USERS_EMBEDDING_MAP, L.ITEMS_EMBEDDING_MAP):
        assert _fit(tiny_run, figure, "artist", "als").stat().st_size > 10_000


def test_new_listener_gets_their_genre(tiny_run, tmp_path):
    """A profile naming five popular artists of one planted genre gets mostly that genre."""
    artists = pd.read_parquet(results(tiny_run, L.ARTISTS)).sort_values("n_users", ascending=False)
    artists["genre"] = _truth(tiny_run, artists["artist"].to_numpy())
    profiles = {f"fan{g}": artists[artists["genre"] == g]["artist"].head(5).tolist()
                for g in sorted(artists["genre"].dropna().unique())[:2]}
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config.setdefault("models", {})["new_users"] = profiles
    cfg = tmp_path / "tiny_new_users.yaml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))  # key order is part of dict params
    work = tmp_path / "run"
    shutil.copytree(tiny_run, work, symlinks=True)
    targets = [str(_fit(work, L.NEW_USERS, "artist", m).relative_to(work)) for m in ("als", "itemknn")]
    jobs = dry_run_jobs(work, *targets, configfile=cfg)
    assert set(jobs) == {"model_new_users"}, jobs  # only the new job, no refit
    run_snakemake(work, *targets, configfile=cfg)
    genre_of = dict(zip(artists["artist"], artists["genre"]))
    for target in targets:
        table = pd.read_parquet(work / target)
        for profile, names in profiles.items():
            rows = table[table["profile"] == profile]
            assert len(rows) == 10 and not rows["item"].isin(names).any()
            want = genre_of[names[0]]
            share = np.mean([genre_of[i] == want for i in rows["item"]])
            assert share >= 0.7, f"{target} {profile}: {share:.0%} in the genre"


def test_adding_a_factor_count_fits_only_the_new_variant(tiny_run, tmp_path):
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config.setdefault("models", {}).setdefault("als", {})["factors"] = [64, 8]
    cfg = tmp_path / "tiny_f8.yaml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))  # key order is part of dict params
    runs = [(m, CLASSIC[m], e) for m, e in RUNS] + [("als", "f8", e) for e in ("artist", "song")]
    targets = [str(results(tiny_run, L.RECOMMENDATIONS, entity=e, model=m, variant=v, seed=0,
                           fit=fit).relative_to(tiny_run))
               for m, v, e in runs for fit in ("full", "train")]
    jobs = dry_run_jobs(tiny_run, *targets, configfile=cfg)
    # one fit_model job (full, train and valid fits) of f8 per entity; nothing else refits
    assert jobs == {"fit_model": 2}, jobs
