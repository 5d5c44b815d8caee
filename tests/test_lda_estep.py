"""The compiled LDA E-step and bound against scikit-learn's own (tastemap.topics.estep)."""
import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.decomposition import LatentDirichletAllocation
from sklearn.decomposition._lda import _update_doc_distribution

from tastemap.core import compat
from tastemap.topics import estep as lda_estep
from tastemap.topics.estep import CompiledLDA, update_doc_distribution


def planted_counts(n_docs=120, n_words=60, k=4, seed=0, dtype=np.float64):
    """Documents drawn from ``k`` disjoint word blocks (plus noise), one empty document."""
    rng = np.random.default_rng(seed)
    block = rng.integers(0, k, n_docs)
    X = rng.poisson(0.05, (n_docs, n_words)).astype(dtype)
    width = n_words // k
    for d, b in enumerate(block):
        X[d, b * width:(b + 1) * width] += rng.poisson(1.5, width)
    X[7] = 0
    return sp.csr_matrix(X)


# scikit-learn's float32 dot over an empty document warns "invalid value"; its result is fine
@pytest.mark.filterwarnings("ignore:invalid value encountered in dot:RuntimeWarning")
@pytest.mark.parametrize("cal_sstats", [True, False])
@pytest.mark.parametrize("random_init", [True, False])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 1e-4)])
def test_e_step_equals_sklearns(cal_sstats, random_init, dtype, rtol):
    X = planted_counts(dtype=dtype)
    beta = np.random.default_rng(1).gamma(1.0, 1.0, (5, X.shape[1])).astype(dtype)
    args = (X, beta, dtype(0.2), 100, 1e-3, cal_sstats)
    rs = (lambda: np.random.RandomState(3)) if random_init else (lambda: None)
    ours_gamma, ours_suff = update_doc_distribution(*args, rs())
    theirs_gamma, theirs_suff = _update_doc_distribution(*args, rs())
    assert ours_gamma.dtype == theirs_gamma.dtype == dtype
    np.testing.assert_allclose(ours_gamma, theirs_gamma, rtol=rtol)
    assert np.allclose(ours_gamma[7], 0.2)  # the empty document keeps the prior
    if cal_sstats:
        np.testing.assert_allclose(ours_suff, theirs_suff, rtol=rtol, atol=1e-12)
    else:
        assert ours_suff is None and theirs_suff is None


def test_fit_and_transform_equal_sklearns(monkeypatch):
    """Whole batch fits (random start, 10 EM passes, bound) and the fold-in of new documents
    agree with scikit-learn's estimator; the compiled E-step is the one that ran."""
    calls = []
    monkeypatch.setattr(lda_estep, "update_doc_distribution",
                        lambda *a: calls.append(1) or update_doc_distribution(*a))
    X, new = planted_counts(seed=0), planted_counts(n_docs=30, seed=5)
    params = dict(n_components=4, learning_method="batch", max_iter=10, random_state=2)
    ours = CompiledLDA(**params).fit(X)
    theirs = LatentDirichletAllocation(**params).fit(X)
    assert len(calls) > 10
    np.testing.assert_allclose(ours.components_, theirs.components_, rtol=1e-9)
    np.testing.assert_allclose(ours.transform(new), theirs.transform(new), rtol=1e-9, atol=1e-12)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.bound_ == pytest.approx(theirs.bound_, rel=1e-12)
    # and it is still a scikit-learn estimator: same parameters
    assert ours.get_params() == theirs.get_params()


@pytest.mark.parametrize("sub_sampling", [False, True])
def test_bound_equals_sklearns(sub_sampling):
    """The variational bound (behind ``bound_``, ``perplexity`` and ``score``) on a fitted model,
    for the training documents and for new ones."""
    X, new = planted_counts(seed=0), planted_counts(n_docs=30, seed=5)
    params = dict(n_components=4, learning_method="batch", max_iter=5, random_state=2)
    ours = CompiledLDA(**params).fit(X)
    theirs = LatentDirichletAllocation(**params).fit(X)
    theirs.total_samples = ours.total_samples = 500  # what online learning sets
    for docs in (X, new):
        gamma = theirs._unnormalized_transform(docs)
        assert ours._approx_bound(docs, gamma, sub_sampling) == pytest.approx(
            theirs._approx_bound(docs, gamma, sub_sampling), rel=1e-12)
    assert ours.perplexity(new) == pytest.approx(theirs.perplexity(new), rel=1e-9)


@pytest.fixture
def fresh_sklearn_check():
    """tastemap.core.compat's cached scikit-learn check runs again in the test (and after it)."""
    compat.sklearn_lda_internals.cache_clear()
    yield
    compat.sklearn_lda_internals.cache_clear()


@pytest.mark.parametrize("reason", ["another scikit-learn", "n_jobs=2"])
def test_falls_back_to_sklearns_e_step(monkeypatch, fresh_sklearn_check, reason):
    """Another scikit-learn than the one the loops reproduce, or parallel jobs: scikit-learn's own
    E-step runs (and, for another scikit-learn, its own bound), and the fit is bit for bit
    scikit-learn's."""
    def fail(*args):
        raise AssertionError("compiled code ran")

    monkeypatch.setattr(lda_estep, "update_doc_distribution", fail)
    if reason == "another scikit-learn":
        monkeypatch.setattr(lda_estep, "_expected_log_likelihood", fail)
    params = dict(n_components=3, learning_method="batch", max_iter=5, random_state=0)
    if reason == "n_jobs=2":
        params["n_jobs"] = 2
    else:
        monkeypatch.setattr(sklearn, "__version__", "0.0")
    X = planted_counts(n_docs=40, seed=1)
    ours = CompiledLDA(**params).fit(X)
    theirs = LatentDirichletAllocation(**params).fit(X)
    np.testing.assert_array_equal(ours.components_, theirs.components_)
    if reason == "another scikit-learn":
        assert ours.bound_ == theirs.bound_


def test_pinned_sklearn_is_the_reproduced_one():
    """The project pins the scikit-learn the loop reproduces (else the fast path never runs)."""
    assert sklearn.__version__ in compat.SKLEARN_TESTED


def test_topics_and_the_lda_recommender_fit_with_it(tmp_path):
    """The topics stage's fits and the ``lda`` recommender (also after a save and load, for the
    fold-in of new users) run the compiled estimator."""
    from tastemap.models.lda import LDA
    from tastemap.topics.model import fit_lda

    X = planted_counts()
    assert isinstance(fit_lda(X, 4, seed=0, max_iter=3), CompiledLDA)
    model = LDA(k=4, max_iter=3).fit(X)
    assert isinstance(model.lda_, CompiledLDA)
    model.save(tmp_path / "model.npz")
    loaded = LDA.load(tmp_path / "model.npz")
    assert isinstance(loaded.lda_, CompiledLDA)
    np.testing.assert_allclose(loaded.fold_in(X[:10]), model.fold_in(X[:10]), rtol=1e-12)
