"""Explanations (tastemap.app.explain and the ``explain`` methods of ALS, item-kNN, EASE, P3alpha,
RP3beta and SLIM): the contributions of the played items add up to the model's own score, for
known and new users."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from tastemap.app.explain import CannotExplain, explain_row, explainers
from tastemap.models import make


@pytest.fixture(scope="module")
def plays() -> sp.csr_matrix:
    rng = np.random.default_rng(3)
    dense = rng.poisson(0.6, size=(60, 25)).astype(np.float32) * rng.integers(1, 9, (60, 25))
    dense[:, 0] += 1  # no empty row
    return sp.csr_matrix(dense)


@pytest.mark.parametrize("name, params", [("itemknn", {"neighbours": 6}),
                                          ("ease", {"l2": 20.0}),
                                          ("p3alpha", {"neighbours": 6}),
                                          ("rp3beta", {"neighbours": 6}),
                                          ("slim", {"neighbours": 6, "alpha": 0.1})])
def test_linear_models_explain_their_scores_exactly(plays, name, params):
    model = make(name, **params).fit(plays)
    items = np.arange(plays.shape[1])
    for u in (0, 7, 33):
        row = plays[u]
        expl = model.explain(row, items, n=plays.shape[1])
        totals = np.array([total for total, _ in expl])
        np.testing.assert_allclose(totals, model._score(np.array([u]))[0], rtol=1e-5, atol=1e-6)
        for total, contribs in expl:
            assert {i for i, _ in contribs} <= set(row.indices.tolist())  # only played items
            values = [c for _, c in contribs]
            assert values == sorted(values, reverse=True)
            assert sum(values) == pytest.approx(total, rel=1e-5, abs=1e-6)
    # a new listener: the same decomposition of the fold-in scores
    new = sp.csr_matrix(([5.0, 2.0], ([0, 0], [3, 11])), shape=(1, plays.shape[1]))
    expl = model.explain(new, items, n=2)
    np.testing.assert_allclose([t for t, _ in expl], model._score_new(new)[0], rtol=1e-5, atol=1e-6)


def test_als_explains_the_fold_in_score(plays):
    model = make("als", factors=6, iterations=8, random_state=0).fit(plays)
    new = sp.csr_matrix(([9.0, 3.0, 1.0], ([0, 0, 0], [2, 5, 20])), shape=(1, plays.shape[1]))
    items = np.arange(plays.shape[1])
    expl = model.explain(new, items, n=3)
    np.testing.assert_allclose([t for t, _ in expl], model._score_new(new)[0], rtol=1e-3,
                               atol=1e-4)
    for total, contribs in expl:
        assert sum(c for _, c in contribs) == pytest.approx(total, rel=1e-3, abs=1e-4)


def test_explain_row_table(plays):
    model = make("itemknn", neighbours=6).fit(plays)
    names = np.array([f"a{i}" for i in range(plays.shape[1])], dtype=object)
    row = plays[4]
    table = explain_row(model, row, np.array([1, 2]), names, n=2)
    assert list(table.columns) == ["item_idx", "item", "score", "contrib_rank", "played_idx",
                                   "played", "plays", "contribution", "share"]
    assert str(table["item"].dtype) == "string" and str(table["plays"].dtype) == "float32"
    assert set(table["item_idx"]) <= {1, 2} and (table.groupby("item_idx").size() <= 2).all()
    dense = row.toarray()[0]
    np.testing.assert_allclose(table["plays"], dense[table["played_idx"]])
    np.testing.assert_allclose(table["share"], table["contribution"] / table["score"], rtol=1e-5)
    assert set(table.attrs["scores"]) == {1, 2}


def test_families_that_cannot_explain_say_which_can(plays):
    assert explainers() == ["als", "ease", "itemknn", "p3alpha", "rp3beta", "slim"]
    model = make("popularity").fit(plays)
    with pytest.raises(CannotExplain, match="popularity cannot explain.*can: als, ease, itemknn, "
                                            "p3alpha, rp3beta, slim"):
        explain_row(model, plays[0], np.array([1]), np.array(["x"] * 25, dtype=object))
