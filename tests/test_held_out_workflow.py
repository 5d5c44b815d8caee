"""The held-out-users evaluation, the likes curve and popularity bias in the tiny workflow run:
which users the fits see, what the evaluation writes, which jobs a change reruns, and that
the numbers repeat."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import dry_run_jobs, results, run_snakemake

from tastemap.core import layout as L
from tastemap.data.matrices import load_matrix
from tastemap.data.split import PICKS
from tastemap.pipeline.held_out import LITERATURE

pytestmark = pytest.mark.workflow

ENTITIES = ["artist", "song"]
STR = {"model": str, "variant": str}


def _rows(m) -> set[int]:
    return set(np.flatnonzero(np.diff(m.indptr)))


@pytest.mark.parametrize("entity", ENTITIES)
def test_no_fit_sees_the_held_out_users(tiny_run, entity):
    get = {t: load_matrix(results(tiny_run, t, entity=entity, seed=0))
           for t in (L.TRAIN, L.TEST, L.VALID_TRAIN, L.VALID_TEST, L.HELD_OUT_VALID,
                     L.HELD_OUT_TEST)}
    full = load_matrix(results(tiny_run, L.MATRIX, entity=entity))
    parts = get[L.TRAIN] + get[L.TEST] + get[L.HELD_OUT_VALID] + get[L.HELD_OUT_TEST]
    assert (parts != full).nnz == 0
    held = _rows(get[L.HELD_OUT_VALID]) | _rows(get[L.HELD_OUT_TEST])
    assert held and not _rows(get[L.HELD_OUT_VALID]) & _rows(get[L.HELD_OUT_TEST])
    for t in (L.TRAIN, L.TEST, L.VALID_TRAIN, L.VALID_TEST):
        assert not _rows(get[t]) & held, t


@pytest.mark.parametrize("entity", ENTITIES)
def test_held_out_leaderboard_and_likes_curve(tiny_run, entity):
    board = pd.read_csv(results(tiny_run, L.NEW_LEADERBOARD, entity=entity, seed=0), dtype=STR)
    runs = pd.read_csv(results(tiny_run, L.LEADERBOARD, entity=entity, seed=0), dtype=STR)
    # every family of the run folds in; one row per family: its variant chosen on validation
    assert set(board["model"]) == set(runs["model"])
    assert set(LITERATURE) | {"ndcg@10", "arp@10", "tail@10"} <= set(board["metric"])
    test_users = len(_rows(load_matrix(results(tiny_run, L.HELD_OUT_TEST, entity=entity, seed=0))))
    primary = board[board["metric"] == "ndcg@10"]
    assert len(primary) == len(set(board["model"])) and (primary["n_users"] == test_users).all()
    selected = pd.read_csv(results(tiny_run, L.NEW_SELECTED, entity=entity, seed=0), dtype=STR)
    assert set(zip(selected["model"], selected["variant"])) == set(
        zip(primary["model"], primary["variant"]))
    valid = pd.read_csv(results(tiny_run, L.NEW_VALID_LEADERBOARD, entity=entity, seed=0),
                        dtype=STR)
    assert {"mf"} <= set(valid["model"])  # the tiny config's one model with several variants
    sig = pd.read_csv(results(tiny_run, L.NEW_SIGNIFICANCE, entity=entity, seed=0))
    n = len(primary)
    assert len(sig) == n * (n - 1) // 2 and (sig["wilcoxon_p_holm"] >= sig["wilcoxon_p"]).all()
    curve = pd.read_csv(results(tiny_run, L.LIKES_CURVE, entity=entity, seed=0), dtype=STR)
    assert set(curve["pick"]) == set(PICKS) and sorted(set(curve["n"])) == [1, 3, 5, 10, 20]
    assert len(curve) == len(primary) * len(PICKS) * 5
    assert results(tiny_run, L.LIKES_FIGURE, entity=entity, seed=0).stat().st_size > 10_000
    page = results(tiny_run, L.NEW_LEADERBOARD_MD, entity=entity, seed=0).read_text()
    assert "## Likes curve" in page and "trecall@20" in page


@pytest.mark.parametrize("entity", ENTITIES)
def test_popularity_bias_of_the_chosen_variants(tiny_run, entity):
    groups = pd.read_csv(results(tiny_run, L.POPULARITY_GROUPS, entity=entity, seed=0), dtype=STR)
    assert list(dict.fromkeys(groups["group"])) == ["niche", "diverse", "mainstream", "gap"]
    selected = pd.read_csv(results(tiny_run, L.SELECTED, entity=entity, seed=0), dtype=STR)
    assert set(zip(groups["model"], groups["variant"])) == set(
        zip(selected["model"], selected["variant"]))
    thirds = groups[groups["group"] != "gap"].groupby(["model", "variant"])["n_users"].sum()
    test = load_matrix(results(tiny_run, L.TEST, entity=entity, seed=0))
    assert (thirds == len(_rows(test))).all()
    board = pd.read_csv(results(tiny_run, L.LEADERBOARD, entity=entity, seed=0), dtype=STR)
    assert {"arp@10", "tail@10", "gini@10"} <= set(board["metric"])
    assert results(tiny_run, L.POPULARITY_FIGURE, entity=entity, seed=0).stat().st_size > 10_000


@pytest.mark.usefixtures("tiny_run_to_myself")
@pytest.mark.parametrize("change", ["evaluate={held_out_users: {fold_in: 0.5}}",
                                    "evaluate={held_out_users: {likes_n: [1, 2, 4]}}"])
def test_fold_in_share_and_likes_n_rerun_only_the_held_out_evaluation(tiny_run, change):
    jobs = dry_run_jobs(tiny_run, "--config", change)
    assert jobs.pop("evaluate_held_out") == len(ENTITIES), jobs
    assert set(jobs) <= {"all"}, jobs


@pytest.mark.usefixtures("tiny_run_to_myself")
def test_held_out_numbers_repeat_bit_for_bit(tiny_run):
    files = [results(tiny_run, t, entity="artist", seed=0) for t in (L.NEW_PER_USER, L.LIKES_CURVE)]
    before = [pd.read_parquet(files[0]), pd.read_csv(files[1])]
    target = str(files[1].relative_to(tiny_run))
    run_snakemake(tiny_run, target, "--forcerun", "evaluate_held_out")
    pd.testing.assert_frame_equal(pd.read_parquet(files[0]), before[0])
    pd.testing.assert_frame_equal(pd.read_csv(files[1]), before[1])
