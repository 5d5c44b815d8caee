"""Evaluate stage end to end on the shared tiny run: leaderboards, selection, significance,
sweeps, and what a new sweep value re-runs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import dry_run_jobs, results

from tastemap.core import layout as L
from tastemap.data.matrices import load_matrix
from tastemap.evaluate import metrics

pytestmark = pytest.mark.workflow

ENTITIES = ["artist", "song"]
STR = {"model": str, "variant": str}


def _results(workdir: Path) -> Path:
    return workdir / "results" / "tiny"


def _train_runs(workdir: Path, entity: str) -> set[tuple[str, str]]:
    """(model, variant) of every train fit the models stage wrote for seed 0."""
    res = _results(workdir)
    found = [L.parse(L.RECOMMENDATIONS, str(p.relative_to(res)))
             for p in res.glob(L.glob(L.RECOMMENDATIONS, entity=entity, seed=0, fit="train"))]
    return {(w["model"], w["variant"]) for w in found}


@pytest.mark.parametrize("entity", ENTITIES)
def test_leaderboard_ranks_every_model(tiny_run, entity):
    board = pd.read_csv(results(tiny_run, L.LEADERBOARD, entity=entity, seed=0), dtype=STR)
    primary = board[board["metric"] == "ndcg@10"]
    runs = _train_runs(tiny_run, entity)
    assert len(runs) >= 5
    assert set(zip(primary["model"], primary["variant"])) == runs
    assert sorted(primary["rank"]) == list(range(1, len(runs) + 1))
    assert primary["mean"].is_monotonic_decreasing
    assert (primary["ci_low"] <= primary["mean"]).all() and (primary["mean"] <= primary["ci_high"]).all()
    # every run is scored on the same users: the test users of the split
    test = load_matrix(results(tiny_run, L.TEST, seed=0, entity=entity))
    assert (primary["n_users"] == int((np.diff(test.indptr) > 0).sum())).all()
    assert {"coverage@10", "novelty@10", "mrr@20", "hitrate@20"} <= set(board["metric"])
    # the biased MF model also gets its RMSE
    assert set(board.loc[board["metric"] == "rmse", "model"]) == {"mf"} & {m for m, _ in runs}
    md = results(tiny_run, L.LEADERBOARD_MD, entity=entity, seed=0).read_text()
    assert md.count("\n| ") == len(runs) + 1
    across = pd.read_csv(results(tiny_run, L.SEEDS_LEADERBOARD, entity=entity), dtype=STR)
    assert set(zip(across["model"], across["variant"])) == runs and (across["n_seeds"] == 1).all()


def test_per_user_file_reproduces_from_the_recommendations(tiny_run):
    per_user = pd.read_parquet(results(tiny_run, L.PER_USER, entity="artist", seed=0))
    assert list(per_user.columns) == ["entity", "seed", "model", "variant", "user_idx", "metric", "value"]
    model, variant = sorted(_train_runs(tiny_run, "artist"))[0]
    recs = pd.read_parquet(results(tiny_run, L.RECOMMENDATIONS, entity="artist", model=model,
                                   variant=variant, seed=0, fit="train"))
    train = load_matrix(results(tiny_run, L.TRAIN, seed=0, entity="artist"))
    test = load_matrix(results(tiny_run, L.TEST, seed=0, entity="artist"))
    wide, _ = metrics.evaluate_recommendations(recs, train, test, [10, 20])
    mine = per_user[(per_user["model"] == model) & (per_user["variant"] == variant)
                    & (per_user["metric"] == "ndcg@10")].sort_values("user_idx")
    np.testing.assert_array_equal(mine["user_idx"].to_numpy(), wide["user_idx"].to_numpy())
    np.testing.assert_allclose(mine["value"].to_numpy(), wide["ndcg@10"].to_numpy(), atol=1e-12)


@pytest.mark.parametrize("entity", ENTITIES)
def test_selection_significance_and_sweeps(tiny_run, entity):
    ev = results(tiny_run, L.EVAL_DIR, entity=entity, seed=0)
    runs = _train_runs(tiny_run, entity)
    models = {m for m, _ in runs}
    selected = pd.read_csv(ev / "selected.csv", dtype=STR)
    assert set(selected["model"]) == models and len(selected) == len(models)
    assert all((m, v) in runs for m, v in zip(selected["model"], selected["variant"]))
    # the choice is the best validation score of each model with several variants (the tiny
    # config sweeps mf only); the others have no validation fit and keep their one variant
    valid = pd.read_csv(ev / "valid" / "leaderboard.csv", dtype=STR)
    swept = {m for m, _ in runs if sum(m == n for n, _ in runs) > 1}
    assert set(valid["model"]) == swept
    vbest = valid[valid["metric"] == "ndcg@10"].sort_values("mean", ascending=False, kind="stable")
    vbest = vbest.drop_duplicates("model").set_index("model")["variant"].to_dict()
    single = {m: v for m, v in runs if m not in swept}
    assert dict(zip(selected["model"], selected["variant"])) == vbest | single
    assert not results(tiny_run, L.MODEL, entity=entity, model="als", variant=single["als"],
                       seed=0, fit="valid").exists()

    sig = pd.read_csv(ev / "significance.csv")
    assert len(sig) == len(models) * (len(models) - 1) // 2
    assert set(sig["a"]) | set(sig["b"]) == models
    assert (sig["wilcoxon_p_holm"] >= sig["wilcoxon_p"] - 1e-15).all()
    assert (sig["t_p_holm"] >= sig["t_p"] - 1e-15).all()
    assert (ev / "significance.png").stat().st_size > 10_000
    # the tiny config sweeps mf factors [8, 16]; LDA has one k there, so no k sweep figure
    assert (ev / "sweep_factors.png").stat().st_size > 10_000
    assert not (ev / "sweep_k.png").exists()


@pytest.mark.usefixtures("tiny_run_to_myself")
def test_new_sweep_value_reevaluates_only_what_depends_on_it(tiny_run):
    jobs = dry_run_jobs(tiny_run, "--config", "models={als: {factors: [64, 8]}}")
    assert not {"simulate", "ingest", "prepare", "matrices", "split"} & set(jobs), jobs
    # one new ALS variant per entity: one job fits it (full and train fits); ALS now has two
    # variants, so both get a validation fit (fit_model_valid), and the evaluation of each
    # entity's seed scores its runs again (every run: well under a second each); no other fit
    # reruns
    assert jobs.get("fit_model") == len(ENTITIES), jobs
    assert jobs.get("fit_model_valid") == 2 * len(ENTITIES), jobs
    assert jobs.get("evaluate_runs") == len(ENTITIES), jobs
    assert jobs.get("evaluate_across_seeds") == 1, jobs
    allowed = ("fit_model", "model_", "models_", "evaluate_", "report", "all")
    assert all(rule.startswith(allowed) for rule in jobs), jobs
