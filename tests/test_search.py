"""The validation search (tastemap.pipeline.search): reproducible, resumable after a kill, visible, and
rerun alone when its budget changes (the real snakemake on a small simulated log)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import optuna
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from conftest import dry_run_outputs, run_snakemake

from tastemap.config import check
from tastemap.core import layout as L
from tastemap.models import registry
from tastemap.models.space import Choice, Float, Int
from tastemap.pipeline.search import Search, chosen, run_search, sample_users, study_name

#: the columns of a trials table that do not depend on the machine's speed
SCORES = ["trial", "score", "best"]


@pytest.fixture(scope="module")
def split():
    """A small validation split: 120 users x 80 items, two taste groups."""
    rng = np.random.default_rng(3)
    group = rng.integers(0, 2, size=120)
    prob = np.where(group[:, None] == (np.arange(80)[None, :] % 2), 0.25, 0.03)
    X = sp.csr_matrix((rng.random((120, 80)) < prob).astype(np.float32))
    coo = X.tocoo()
    held = rng.random(coo.nnz) < 0.2
    make = lambda keep: sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])),  # noqa: E731
                                      shape=X.shape)
    return make(~held), make(held)


def _search(trials=6, family="userknn", space=None):
    space = space or {"neighbours": Int(2, 60, log=True), "weighting": Choice(("log", "binary"))}
    return Search(family, {}, space, trials=trials, startup_trials=3)


def _values(table):
    return table.drop(columns=["fit_s", "rank_s"])


def test_a_diverged_fit_scores_zero_and_uses_its_trial(split, monkeypatch):
    """Values a model cannot be fit at (NaN factors: tastemap.models.base.Diverged) are a trial
    scored 0, inside the budget; the search goes on and never chooses them."""
    import tastemap.pipeline.search as S
    from tastemap.models.base import Diverged

    real = S.evaluate_params

    def fragile(search, params, train, test, seed):
        if params["neighbours"] > 20:
            raise Diverged(f"userknn diverged at {params}")
        return real(search, params, train, test, seed)

    monkeypatch.setattr(S, "evaluate_params", fragile)
    table = run_search(_search(trials=8), *split, seed=0, journal=None)
    assert len(table) == 8
    high = table["neighbours"] > 20
    assert high.any() and (table.loc[high, "score"] == 0).all()
    assert (table.loc[~high, "score"] > 0).all()
    assert chosen(table, _search())["neighbours"] <= 20


def test_bpr_divergence_is_reported_as_diverged():
    """Non-finite factors reach the search as Diverged."""
    from tastemap.models.base import Diverged
    from tastemap.models.bpr import BPR

    rng = np.random.default_rng(0)
    X = sp.csr_matrix((rng.random((60, 40)) < 0.2).astype(np.float32))
    with pytest.raises(Diverged, match="BPR diverged"):
        BPR(factors=8, learning_rate=1e30, iterations=3).fit(X)


def test_same_config_and_seed_give_the_same_trials_and_choice(split):
    a = run_search(_search(), *split, seed=0, journal=None)
    b = run_search(_search(), *split, seed=0, journal=None)
    pd.testing.assert_frame_equal(_values(a), _values(b))
    assert chosen(a, _search()) == chosen(b, _search())
    other = run_search(_search(), *split, seed=1, journal=None)
    assert not _values(other).equals(_values(a))  # the seed matters


def test_a_search_killed_mid_trial_resumes_to_the_same_choice(split, tmp_path):
    """A job killed during trial 4 leaves 3 completed trials and one running in the journal;
    the resumed search neither counts nor learns from the interrupted one."""
    search = _search()
    whole = run_search(search, *split, seed=0, journal=tmp_path / "whole.log")
    journal = tmp_path / "killed.log"
    run_search(_search(trials=3), *split, seed=0, journal=journal)
    storage = optuna.storages.journal.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(journal)))
    from tastemap.pipeline.search import _data_key

    name = study_name(search, 0, _data_key(*split))
    study = optuna.load_study(study_name=name, storage=storage)
    trial = study.ask()  # what the killed job had started
    trial.suggest_int("neighbours", 2, 60, log=True)
    resumed = run_search(search, *split, seed=0, journal=journal)
    pd.testing.assert_frame_equal(_values(resumed), _values(whole))
    states = [t.state for t in optuna.load_study(study_name=name, storage=storage).trials]
    assert states.count(optuna.trial.TrialState.RUNNING) == 1  # left out, not redone
    assert states.count(optuna.trial.TrialState.COMPLETE) == 6


KILLED_SEARCH = """
import sys, numpy as np, scipy.sparse as sp
from pathlib import Path
from tastemap.models.space import Choice, Int
from tastemap.pipeline.search import Search, run_search
train, test = sp.load_npz(sys.argv[1]), sp.load_npz(sys.argv[2])
space = {"neighbours": Int(2, 60, log=True), "weighting": Choice(("log", "binary"))}
run_search(Search("userknn", {}, space, trials=500, startup_trials=3), train, test, seed=0,
           journal=Path(sys.argv[3]))
"""


def test_a_search_process_killed_with_sigkill_resumes_to_the_same_choice(split, tmp_path):
    """A real kill: a process searching into a journal is SIGKILLed after a few trials; the
    resumed search gives the same trials and choice as one never interrupted."""
    import os
    import signal
    import subprocess
    import sys
    import time

    for name, m in zip(("train", "test"), split, strict=True):
        sp.save_npz(tmp_path / f"{name}.npz", m)
    journal = tmp_path / "killed.log"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SEARCH, str(tmp_path / "train.npz"),
                             str(tmp_path / "test.npz"), str(journal)])
    def completed() -> int:
        if not journal.exists():
            return 0
        storage = optuna.storages.journal.JournalStorage(
            optuna.storages.journal.JournalFileBackend(str(journal)))
        return sum(len(s.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
                   for s in (optuna.load_study(study_name=n, storage=storage)
                             for n in optuna.get_all_study_names(storage)))

    try:
        deadline = time.monotonic() + 120
        while completed() < 4 and time.monotonic() < deadline:
            assert proc.poll() is None, "the search ended before it was killed"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    search = _search(trials=8)
    resumed = run_search(search, *split, seed=0, journal=journal)
    whole = run_search(search, *split, seed=0, journal=tmp_path / "whole.log")
    pd.testing.assert_frame_equal(_values(resumed), _values(whole))
    assert chosen(resumed, search) == chosen(whole, search)


def test_a_smaller_budget_chooses_among_the_first_trials(split, tmp_path):
    journal = tmp_path / "j.log"
    six = run_search(_search(trials=6), *split, seed=0, journal=journal)
    four = run_search(_search(trials=4), *split, seed=0, journal=journal)
    pd.testing.assert_frame_equal(_values(four), _values(six).iloc[:4])


def test_the_chosen_values_are_the_best_trial_and_beat_a_poor_fixed_value(split):
    table = run_search(_search(trials=8), *split, seed=0, journal=None)
    best = table.loc[table["score"].idxmax()]
    values = chosen(table, _search())
    assert values["neighbours"] == best["neighbours"]
    assert type(values["neighbours"]) is int and type(values["weighting"]) is str  # constructors
    assert table["best"].is_monotonic_increasing and table["best"].iloc[-1] == best["score"]
    poor = run_search(_search(trials=1, space={"neighbours": Int(2, 2), "weighting": Choice(("log",))}),
                      *split, seed=0, journal=None)
    assert best["score"] > poor["score"].iloc[0]


def test_size_dimensions_are_capped_to_the_data(split):
    """PureSVD's declared range reaches 512 factors; the 80-item matrix caps it at 79."""
    search = Search("puresvd", {}, {"factors": Int(4, 512, log=True)}, trials=3, startup_trials=3)
    table = run_search(search, *split, seed=0, journal=None)
    assert table["factors"].between(4, 79).all()


def test_a_user_sample_is_seeded_and_keeps_the_catalogue(split):
    a, b = sample_users(*split, n=30, seed=0), sample_users(*split, n=30, seed=0)
    assert a[0].shape == (30, 80) and (a[0] != b[0]).nnz == 0
    assert (sample_users(*split, n=30, seed=1)[0] != a[0]).nnz > 0
    assert sample_users(*split, n=0, seed=0)[0] is split[0]


def test_every_family_declares_a_space_its_constructor_takes():
    import inspect

    for name, cls in registry.specs().items():
        takes = inspect.signature(cls.__init__).parameters
        assert set(cls.search_space) <= set(takes), name
        for key, dim in cls.search_space.items():  # the constructor's default lies in range
            default = takes[key].default
            if isinstance(dim, Choice):
                assert default in dim.values, (name, key)
            else:
                assert dim.low <= default <= dim.high, (name, key, default)
    assert registry.get("popularity").search_space == {}


def test_config_errors_name_the_key():
    msgs = check({"search": {"families": {"ease": {"space": {"l2": [0.1, 10]}},
                                          "nope": {"trials": 3}}}})
    assert any(m.startswith("search.families.ease.space.l2:") and "outside" in m for m in msgs)
    assert "search.families.nope: no model family 'nope'" in msgs
    msgs = check({"split": {"validation": False}})
    assert any(m.startswith("search.enabled:") and "split.validation" in m for m in msgs)
    assert check({"split": {"validation": False}, "search": {"enabled": False}}) == []


def test_floats_are_searched_on_a_log_scale_by_default():
    assert Float(1.0, 10.0).log and not Int(1, 10).log


# ---- the workflow ----------------------------------------------------------------------------

SMALL = {
    "dataset": "tiny", "seeds": [0], "entities": ["artist"],
    "input": {"format": "simulate"},
    "simulate": {"seed": 7, "n_users": 150, "n_artists": 240, "n_genres": 4,
                 "plays_per_user": 100, "artists_per_user": 40},
    "prepare": {"min_track_listeners": 3},
    "explore": {"enabled": False}, "topics": {"enabled": False},
    "search": {"trials": 4, "startup_trials": 2},
    "models": {**{m: {"enabled": False} for m in ("als", "bpr", "lda", "mf", "item2vec", "sgns",
                                                   "twotower", "p3alpha", "rp3beta", "slim",
                                                   "puresvd")},
               "userknn": {"neighbours": [50, 100]},  # an explicit sweep: not searched
               "maps": {"models": []}},
}


def _write(path, config):
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _board(run):
    board = pd.read_csv(run / "results/tiny" / L.path(L.LEADERBOARD, entity="artist", seed=0))
    return board.sort_values(["model", "variant", "metric"]).reset_index(drop=True)


@pytest.mark.workflow
def test_workflow_searches_shows_and_reruns_only_what_a_budget_changes(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    cfg = _write(tmp_path / "small.yaml", SMALL)
    run_snakemake(run, configfile=cfg)
    res = run / "results/tiny"
    for model in ("ease", "itemknn"):  # searched: trials, chosen values, the tuned fits
        w = dict(entity="artist", model=model, seed=0)
        trials = pd.read_parquet(res / L.path(L.SEARCH_TRIALS, **w))
        assert len(trials) == 4 and trials["score"].between(0, 1).all()
        record = json.loads((res / L.path(L.SEARCH_CHOSEN, **w)).read_text())
        assert record["score"] == trials["score"].max() and record["trials"] == 4
        assert (res / L.path(L.MODEL, variant="tuned", fit="full", **w)).exists()
    assert not (res / "search/artist/userknn").exists()  # the explicit sweep is kept
    board = _board(run)
    assert set(zip(board["model"], board["variant"])) == {
        ("ease", "tuned"), ("itemknn", "tuned"), ("userknn", "k50"), ("userknn", "k100"),
        ("popularity", "default")}
    ease = board[board["model"] == "ease"].iloc[0]
    assert ease["search"] == "4 trials" and ease["values"].startswith("l2=")
    assert (board[board["model"] == "userknn"]["search"] == "as configured").all()
    summary = pd.read_csv(res / L.path(L.SEARCH_SUMMARY, entity="artist", seed=0))
    assert sorted(summary["model"].unique()) == ["ease", "itemknn"]
    assert summary.groupby("model")["chosen"].sum().eq(1).all()
    assert (res / L.path(L.SEARCH_FIGURE, entity="artist", seed=0)).stat().st_size > 10_000
    assert "| ease | tuned | 4 trials | l2=" in (
        res / L.path(L.LEADERBOARD_MD, entity="artist", seed=0)).read_text()

    # one family's budget changed: its search, its fits, the evaluation; nothing of itemknn
    bigger = _write(tmp_path / "bigger.yaml", {**SMALL, "search": {
        **SMALL["search"], "families": {"ease": {"trials": 6}}}})
    planned = dry_run_outputs(run, configfile=bigger)
    touched = {p.split("/")[4] for p in planned if p.startswith(("results/tiny/search/artist/",
                                                                 "results/tiny/models/artist/"))}
    assert touched == {"ease", "seed0"}, sorted(planned)  # seed0: the search summary
    assert any(p.endswith("/leaderboard.csv") for p in planned)
    assert not any("/itemknn/" in p or "/userknn/" in p or "/data/" in p for p in planned)

    # the same config in a fresh folder: the same chosen values and the same leaderboard
    again = tmp_path / "again"
    again.mkdir()
    shutil.copytree(run / "resources", again / "resources")
    run_snakemake(again, configfile=cfg)
    for model in ("ease", "itemknn"):
        path = L.path(L.SEARCH_CHOSEN, entity="artist", model=model, seed=0)
        first, second = (json.loads((r / "results/tiny" / path).read_text())
                         for r in (run, again))
        assert first["params"] == second["params"] and first["score"] == second["score"]
    a, b = _board(run), _board(again)
    assert a[["model", "variant", "metric"]].equals(b[["model", "variant", "metric"]])
    np.testing.assert_allclose(a["mean"].to_numpy(), b["mean"].to_numpy(), rtol=0, atol=1e-12)


@pytest.mark.workflow
def test_keep_configured_puts_both_variants_on_the_boards(tmp_path):
    """search.keep_configured: the configured variant beside the tuned one, both fit on the
    validation split at their own values (the tuned one at the chosen values: its validation
    score is the search's best), and chosen between there."""
    config = {**SMALL, "search": {**SMALL["search"], "keep_configured": True},
              "models": {**SMALL["models"], "itemknn": {"enabled": False},
                         "userknn": {"enabled": False}}}
    cfg = _write(tmp_path / "keep.yaml", config)
    run_snakemake(tmp_path, configfile=cfg)
    res = tmp_path / "results/tiny"
    record = json.loads((res / L.path(L.SEARCH_CHOSEN, entity="artist", model="ease",
                                      seed=0)).read_text())
    valid = pd.read_csv(res / L.path(L.VALID_LEADERBOARD, entity="artist", seed=0))
    ndcg = valid[(valid["model"] == "ease") & (valid["metric"] == "ndcg@10")]
    scores = ndcg.set_index("variant")["mean"]
    assert set(scores.index) == {"l500", "tuned"}  # l2: [500], the schema's default
    assert scores["tuned"] == pytest.approx(record["score"], abs=1e-12)
    board = _board(tmp_path)
    assert set(board[board["model"] == "ease"]["variant"]) == {"l500", "tuned"}
    selected = pd.read_csv(res / L.path(L.SELECTED, entity="artist", seed=0)).set_index("model")
    assert selected.loc["ease", "variant"] == scores.idxmax()


def test_search_space_table_in_docs_matches_the_declarations():
    from conftest import REPO

    text = (REPO / "docs" / "models.md").read_text()
    assert registry.search_spaces_markdown() in text, (
        "docs/models.md: paste the output of `python -m tastemap.models.registry`")


@pytest.mark.parametrize("name", ["hetrec-2k", "lastfm-1k", "lastfm-360k", "msd",
                                  "repro-ml1m-spectralcf"])
def test_every_ready_config_searches_when_run_from_the_checkout(name):
    """`snakemake --configfile config/<name>.yaml` in the checkout layers the ready config on
    config/config.yaml (the Snakefile's configfile), whose simulated default turns the search
    off: each ready config must turn it on again, and every family it enables with something to
    tune is then searched."""
    from conftest import REPO
    from snakemake.utils import update_config

    from tastemap.config import fill_defaults, load_schema

    merged = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    ready = yaml.safe_load((REPO / "config" / f"{name}.yaml").read_text())
    update_config(merged, ready)
    config = fill_defaults(merged, load_schema())
    assert config["search"]["enabled"]
    plans = {family: registry.search_plan(family, section, config["search"],
                                          ready.get("models", {}).get(family))
             for family, section in registry.config_models(config["models"]).items()
             if registry.enabled(section) and registry.get(family).search_space}
    assert plans and all(plan is not None for plan in plans.values()), plans
