"""The baselines of Ferrari Dacrema et al. 2019 (P3alpha, RP3beta, SLIM ElasticNet, PureSVD)
against brute-force references written from the papers' formulas on tiny matrices. The model
contract (recommend, fold-in, save/load, determinism, declarations) is checked for them with every
other family in tests/test_models.py; their explanations in tests/test_explain.py."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize

from tastemap.models import make
from tastemap.models.graph import top_per_row


@pytest.fixture(scope="module")
def tiny() -> np.ndarray:
    """6 users x 5 items of play counts: an empty item (4), a user with one item (0)."""
    return np.array([[0, 2, 0, 0, 0], [3, 4, 2, 4, 0], [2, 6, 6, 0, 0], [9, 4, 4, 2, 0],
                     [2, 8, 1, 0, 0], [2, 0, 0, 2, 0]], dtype=np.float64)


@pytest.fixture(scope="module")
def continuous() -> np.ndarray:
    """14 users x 9 items of non-integer plays (no ties among the walk weights)."""
    rng = np.random.default_rng(4)
    return rng.gamma(1.5, 3.0, (14, 9)) * (rng.random((14, 9)) < 0.55)


def _weights(plays: np.ndarray, weighting: str) -> np.ndarray:
    return {"raw": plays, "log": np.log1p(plays), "binary": (plays > 0) * 1.0}[weighting]


def _keep_top(M: np.ndarray, k: int, axis: int) -> np.ndarray:
    """The k largest non-zero entries of every row (axis 1) or column (axis 0) of M."""
    out = np.zeros_like(M)
    for line in range(M.shape[1 - axis]):
        vec = M[line] if axis == 1 else M[:, line]
        best = [i for i in np.argsort(-vec, kind="stable")[:k] if vec[i] != 0]
        if axis == 1:
            out[line, best] = vec[best]
        else:
            out[best, line] = vec[best]
    return out


def random_walk_reference(plays, alpha, k, beta=None, normalize=False, weighting="raw"):
    """W of P3alpha / RP3beta straight from the definitions (Cooper et al. 2014; Paudel et al.
    2017; Ferrari Dacrema et al.'s code), dense: p(u -> i) = r_ui / sum_i r_ui and p(i -> u) =
    1 / |U_i|, each raised to alpha; W[i, j] = sum_u p(i -> u) p(u -> j) (/ |U_j|^beta), zero
    diagonal, top k of each row, rows normalised, top k of each column."""
    R = _weights(plays, weighting)
    n_users, n_items = R.shape
    W = np.zeros((n_items, n_items))
    listeners = (R > 0).sum(axis=0)
    for i in range(n_items):
        for j in range(n_items):
            for u in range(n_users):
                if R[u, i] > 0 and R[u, j] > 0:
                    W[i, j] += (1 / listeners[i]) ** alpha * (R[u, j] / R[u].sum()) ** alpha
            if beta is not None and listeners[j] > 0:
                W[i, j] /= listeners[j] ** beta
    np.fill_diagonal(W, 0.0)
    W = _keep_top(W, k, axis=1)
    if normalize:
        sums = W.sum(axis=1, keepdims=True)
        W = np.divide(W, sums, out=np.zeros_like(W), where=sums > 0)
    return _keep_top(W, k, axis=0)


@pytest.mark.parametrize("params", [
    dict(alpha=1.0), dict(alpha=0.6, weighting="raw"), dict(alpha=1.7, normalize_similarity=True),
    dict(alpha=1.0, beta=0.6, normalize_similarity=True), dict(alpha=0.8, beta=0.0),
    dict(alpha=1.2, beta=1.5, normalize_similarity=False, weighting="binary"),
])
def test_random_walk_weights_match_the_definition(tiny, params):
    name = "rp3beta" if "beta" in params else "p3alpha"
    params = {"weighting": "log", "normalize_similarity": False, **params}
    m = make(name, neighbours=4, **params).fit(sp.csr_matrix(tiny))
    want = random_walk_reference(tiny, params["alpha"], 4, beta=params.get("beta"),
                                 normalize=params["normalize_similarity"],
                                 weighting=params["weighting"])
    np.testing.assert_allclose(m.W_.toarray(), want, rtol=1e-6, atol=1e-7)
    assert m.W_.dtype == np.float32 and not m.W_.diagonal().any()
    # scores: w(r_u) W, for known users and folded in
    R = _weights(tiny, params["weighting"])
    np.testing.assert_allclose(m._score(np.arange(6)), R @ want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m._score_new(sp.csr_matrix(tiny[[3, 1]])), R[[3, 1]] @ want,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, k, normalize", [("p3alpha", 3, False), ("p3alpha", 2, True),
                                                ("rp3beta", 3, True), ("rp3beta", 1, False)])
def test_neighbours_keep_the_top_of_each_row_then_of_each_column(continuous, name, k, normalize):
    params = dict(alpha=0.9, normalize_similarity=normalize, weighting="raw")
    if name == "rp3beta":
        params["beta"] = 0.7
    m = make(name, neighbours=k, **params).fit(sp.csr_matrix(continuous))
    want = random_walk_reference(continuous, 0.9, k, beta=params.get("beta"), normalize=normalize)
    np.testing.assert_allclose(m.W_.toarray(), want, rtol=1e-6, atol=1e-7)
    assert (np.diff(m.W_.indptr) <= k).all() and (np.diff(m.W_.tocsc().indptr) <= k).all()


def test_walk_blocks_do_not_change_the_result(continuous):
    from tastemap.models.graph import random_walk_weights

    X = sp.csr_matrix(continuous)
    whole = random_walk_weights(X, 0.9, 3, beta=0.5, normalize=True)
    blocks = random_walk_weights(X, 0.9, 3, beta=0.5, normalize=True, block_entries=20)
    assert (whole != blocks).nnz == 0


def test_ties_at_the_cut_go_to_the_smaller_index():
    S = sp.csr_matrix(np.array([[0.0, 0.5, 0.5, 0.5], [0.3, 0.0, 0.3, 0.1]]))
    assert top_per_row(S, 2).toarray().tolist() == [[0, 0.5, 0.5, 0], [0.3, 0, 0.3, 0]]


# ---- SLIM -----------------------------------------------------------------------------------------

def _enet_objective(w, X, y, alpha, l1_ratio):
    """scikit-learn's ElasticNet objective (Ning & Karypis's SLIM loss with its 1/(2n) scale)."""
    r = y - X @ w
    return (r @ r / (2 * len(y)) + alpha * l1_ratio * np.abs(w).sum()
            + 0.5 * alpha * (1 - l1_ratio) * w @ w)


def _enet_reference(X, j, alpha, l1_ratio):
    """argmin over w >= 0 with w_j = 0 (column j of X zeroed), by L-BFGS-B."""
    Xj = X.copy()
    Xj[:, j] = 0.0
    y = X[:, j]

    def fun(w):
        r = y - Xj @ w
        grad = -Xj.T @ r / len(y) + alpha * l1_ratio + alpha * (1 - l1_ratio) * w
        return _enet_objective(w, Xj, y, alpha, l1_ratio), grad

    bounds = [(0, 0) if i == j else (0, None) for i in range(X.shape[1])]
    res = minimize(fun, np.zeros(X.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000})
    return res.x, res.fun, Xj, y


@pytest.mark.parametrize("alpha, l1_ratio, weighting", [(0.05, 0.1, "log"), (0.5, 0.5, "raw"),
                                                        (0.02, 1.0, "binary")])
def test_slim_solves_each_items_elastic_net(tiny, alpha, l1_ratio, weighting):
    m = make("slim", alpha=alpha, l1_ratio=l1_ratio, neighbours=5, max_iter=100_000, tol=1e-12,
             weighting=weighting).fit(sp.csr_matrix(tiny))
    W = m.W_.toarray()
    assert not np.diag(W).any() and (W >= 0).all()
    X = _weights(tiny, weighting).astype(np.float32).astype(np.float64)
    for j in range(X.shape[1]):
        want, best, Xj, y = _enet_reference(X, j, alpha, l1_ratio)
        np.testing.assert_allclose(W[:, j], want, rtol=1e-3, atol=1e-4)
        assert _enet_objective(W[:, j], Xj, y, alpha, l1_ratio) == pytest.approx(best, rel=1e-5,
                                                                                abs=1e-7)
    np.testing.assert_allclose(m._score(np.arange(6)), X @ W, rtol=1e-5, atol=1e-6)


def test_slim_keeps_the_largest_coefficients_and_repeats_with_its_seed(continuous):
    X = sp.csr_matrix(continuous)
    full = make("slim", alpha=0.01, neighbours=9, random_state=3).fit(X).W_.toarray()
    top = make("slim", alpha=0.01, neighbours=2, random_state=3)
    top.num_threads = 2
    top.fit(X)
    np.testing.assert_array_equal(top.W_.toarray(), _keep_top(full, 2, axis=0))
    again = make("slim", alpha=0.01, neighbours=2, random_state=3).fit(X)  # one thread
    np.testing.assert_array_equal(again.W_.toarray(), top.W_.toarray())
    with pytest.raises(ValueError, match="l1_ratio=1.5"):
        make("slim", l1_ratio=1.5).fit(X)


# ---- PureSVD --------------------------------------------------------------------------------------

def test_puresvd_is_the_truncated_svd(continuous):
    X = sp.csr_matrix(continuous)
    m = make("puresvd", factors=3, weighting="raw", random_state=5).fit(X)
    U, s, VT = np.linalg.svd(continuous, full_matrices=False)
    rank3 = U[:, :3] * s[:3] @ VT[:3]
    np.testing.assert_allclose(m._score(np.arange(X.shape[0])), rank3, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(m.singular_values_, s[:3], rtol=1e-5)
    # the item factors are V up to the sign of each column
    np.testing.assert_allclose(np.abs(m.item_factors.T @ VT[:3].T), np.eye(3), atol=1e-4)
    # fold-in r V V^T: a known user's row gives their score (X V = U S for an exact SVD)
    np.testing.assert_allclose(m._score_new(X[[0, 7]]), rank3[[0, 7]], rtol=1e-4, atol=1e-4)
    same = make("puresvd", factors=3, weighting="raw", random_state=5).fit(X)
    np.testing.assert_array_equal(same.item_factors, m.item_factors)
    with pytest.raises(ValueError, match="factors=9: use 1 to 8"):
        make("puresvd", factors=9).fit(X)
