"""Workflow tests of the models stage on the shared tiny run (tests/config/tiny.yaml)."""
from __future__ import annotations

import re
import shutil
import zipfile

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import REPO, TINY_CONFIG, dry_run_jobs, results, run_snakemake, tiny_run_lock

import tastemap
from tastemap.config import resolve
from tastemap.core import layout as L
from tastemap.data.matrices import load_matrix
from tastemap.models import registry

pytestmark = pytest.mark.workflow

FILES = [L.MODEL, L.RECOMMENDATIONS, L.SIMILAR, L.HISTORY]
TINY = yaml.safe_load(TINY_CONFIG.read_text())
_MODELS = resolve(TINY)["models"]
#: the classic families and the one variant the tiny config fits of each (its defaults)
CLASSIC = {m: next(iter(registry.variants(m, _MODELS[m])))
           for m in ("als", "bpr", "itemknn", "userknn", "popularity", "ease")}
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
        # every user of the fit's matrix (the train fits do not see the held-out users)
        rows = set(np.flatnonzero(np.diff(load_matrix(matrix).indptr)))
        assert rows <= set(recs["user_idx"]) and recs["user_idx"].max() < n_users
        assert fit == "train" or len(rows) == n_users
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
    with tiny_run_lock(tiny_run):  # a copy, not another test's half-done job
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


@pytest.mark.usefixtures("tiny_run_to_myself")
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
    # one fit_model job (full and train fits) of f8 per entity; nothing else refits
    assert jobs == {"fit_model": 2}, jobs
    # ALS now has two variants to choose from: each gets its validation fit, in its own job,
    # and the f64 fits that exist are kept
    valid = [str(results(tiny_run, L.RECOMMENDATIONS, entity=e, model="als", variant=v, seed=0,
                         fit="valid").relative_to(tiny_run))
             for v in ("f64", "f8") for e in ("artist", "song")]
    jobs = dry_run_jobs(tiny_run, *targets, *valid, configfile=cfg)
    assert jobs == {"fit_model": 2, "fit_model_valid": 4}, jobs


def test_a_new_family_is_one_module_and_one_config_section(tmp_path, monkeypatch):
    """The toy family of docs/adding_a_model.md, written outside src/, with one config section
    (every other model, topics and maps off): the workflow fits both variants, evaluates them,
    picks one on validation, draws the sweep and puts it in the report."""
    guide = (REPO / "docs" / "adding_a_model.md").read_text()
    module = re.search(r"```python\n(.*?)```", guide, re.S).group(1)
    section = yaml.safe_load(re.search(r"```yaml\n(.*?)```", guide, re.S).group(1))["models"]
    work = tmp_path / "run"
    work.mkdir()
    (work / "toymodel.py").write_text(module)
    config = yaml.safe_load(TINY_CONFIG.read_text())
    config["models"] = {name: {"enabled": False} for name in registry.FAMILIES} | section
    config |= {"entities": ["artist"], "topics": {"enabled": False}, "explore": {"enabled": False}}
    cfg = tmp_path / "toy.yaml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    jobs = dry_run_jobs(work, configfile=cfg)
    # a0.5, a1: one job each makes its full and train fits, one more its validation fit
    assert jobs["fit_model"] == 2 and jobs["fit_model_valid"] == 2, jobs
    assert not any(rule.startswith(("topics", "explore", "model_")) for rule in jobs), jobs
    run_snakemake(work, configfile=cfg)
    res = work / "results" / "tiny"
    fits = res / "models" / "artist" / "toy"
    assert sorted(p.name for p in fits.iterdir()) == ["a0.5", "a1"]
    for fit in ("full", "train", "valid"):
        recs = pd.read_parquet(fits / "a1" / "seed0" / fit / "recommendations.parquet")
        assert recs["user_idx"].nunique() > 100
    board = pd.read_csv(res / "evaluate" / "artist" / "seed0" / "leaderboard.csv", dtype=str)
    assert set(zip(board["model"], board["variant"])) == {("toy", "a0.5"), ("toy", "a1")}
    assert pd.read_csv(res / "evaluate" / "artist" / "seed0" / "selected.csv")["model"].tolist() == ["toy"]
    assert (res / "evaluate" / "artist" / "seed0" / "sweep_alpha.png").stat().st_size > 10_000
    # the saved model loads (its module named by the caller) and reproduces its table
    monkeypatch.syspath_prepend(str(work))
    model = tastemap.load(res).model("artist", "toy", variant="a1", module="toymodel")
    full = pd.read_parquet(fits / "a1" / "seed0" / "full" / "recommendations.parquet")
    ids, _ = model.recommend(np.array([0]), k=3)
    assert ids[0].tolist() == full.loc[full["user_idx"] == 0, "item_idx"].head(3).tolist()

    out = tmp_path / "report.zip"
    run_snakemake(work, "--report", str(out), configfile=cfg)
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        boards = [zf.read(n).decode() for n in names if n.endswith("/leaderboard.csv")]
        # test, valid, seeds and the held-out users' (the toy folds in; one row: its choice)
        assert len(boards) == 4 and all(",toy,a1," in b or ",toy,a0.5," in b for b in boards)
        assert any(n.endswith("/sweep_alpha.png") for n in names)
