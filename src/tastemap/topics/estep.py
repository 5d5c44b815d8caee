"""scikit-learn's variational LDA with its E-step and bound compiled by numba.

scikit-learn's ``LatentDirichletAllocation`` updates each document's topic mixture in a Python
loop (``sklearn.decomposition._lda._update_doc_distribution``): a handful of NumPy calls on
``k``-long vectors per document and inner iteration. On the default simulation (1,000 users x
3,000 artists, 72K entries, k = 16) an E-step is ~31K such inner iterations, ~5.8 us each,
nearly all of it interpreter overhead; a 10-pass fit spends 1.8 of its 2.0 CPU-s there, and
another 0.2 s in the variational bound (``_approx_bound``: one ``scipy.special.logsumexp`` call
per document). No maintained library offers that same algorithm compiled (gensim's ``LdaModel``
loops over documents in Python too; tomotopy and ``lda`` are Gibbs samplers, a different
estimator), so :class:`CompiledLDA` keeps scikit-learn's estimator - its initialisation, M-step,
parameters and fitted attributes - and swaps those two loops for the same arithmetic written as
numba loops, :func:`_doc_updates` and :func:`_expected_log_likelihood`
(``python benchmarks/lda_estep.py``: that fit 2.0 -> 0.5 CPU-s).

The loops are scikit-learn 1.9.1's, step for step: the same random start (``gamma(100, 0.01)``
drawn from the estimator's ``random_state_``), the same ``psi`` approximation (Algorithm AS 103,
as in ``sklearn/decomposition/_online_lda_fast.pyx``), the same per-document stopping rule (mean
absolute change of the mixture below ``mean_change_tol``, at most ``max_doc_update_iter`` passes),
the same sufficient statistics and bound terms. Only the order of floating-point additions inside
a dot product differs (a plain loop instead of BLAS), so fitted components agree with
scikit-learn's to ~1e-11 relative (``tests/test_lda_estep.py`` compares E-steps, bounds and whole
fits).

Both are private methods of scikit-learn (it has no public parameter for either), overridden
through :class:`tastemap.core.compat.LDAStepHooks`: that checks scikit-learn's version against the one
the loops reproduce (``compat.SKLEARN_TESTED``, the one ``pyproject.toml`` pins) and the private
names they need before it uses them. With any other scikit-learn (or ``n_jobs`` other than 1, for
the E-step), :class:`CompiledLDA` runs scikit-learn's own code unchanged. The compiled code is
cached on disk (``cache=True``, in ``NUMBA_CACHE_DIR``), so only the first process compiles it.
"""
from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
from scipy.special import gammaln

from tastemap.core.compat import LDAStepHooks, sklearn_dirichlet_expectation_2d

_EULER = 0.577215664901532860606512090082402431


@numba.njit(cache=True, nogil=True)
def _psi(x):  # pragma: no cover - compiled
    """Digamma for positive ``x`` as scikit-learn computes it (AS 103: recurrence up to 6, then
    the asymptotic series)."""
    if x <= 1e-6:
        return -_EULER - 1.0 / x
    result = 0.0
    while x < 6:
        result -= 1.0 / x
        x += 1
    r = 1.0 / x
    result += np.log(x) - 0.5 * r
    r = r * r
    result -= r * ((1.0 / 12.0) - r * ((1.0 / 120.0) - r * (1.0 / 252.0)))
    return result


@numba.njit(cache=True, nogil=True)
def _doc_fixed_point(beta_d, beta_t, cnts, gamma_d, et, prior, max_iter, tol,
                     eps):  # pragma: no cover - compiled
    """One document's mixture: iterate ``gamma_d`` (in: the start, out: the fit) and ``et``
    (``exp(E[log theta_d])``, in and out) until the mean absolute change is below ``tol``.

    ``beta_d`` (n_d, k) / ``beta_t`` (k, n_d): ``exp(E[log beta])`` of the document's words in
    both layouts, so that each product below runs along contiguous memory with independent sums
    (which the compiler can vectorise without reordering a sum); ``cnts``: the words' counts.
    """
    k, nd = beta_t.shape
    new = np.empty(k, gamma_d.dtype)
    norm = np.empty(nd, gamma_d.dtype)
    for _ in range(max_iter):
        # phi_dwk ~ exp(E[log theta_dk]) exp(E[log beta_kw]); norm_w = sum_k of it
        norm[:] = 0.0
        for t in range(k):
            for j in range(nd):
                norm[j] += et[t] * beta_t[t, j]
        for j in range(nd):  # now the weight n_dw / norm_w of each word
            norm[j] = cnts[j] / (norm[j] + eps)
        new[:] = 0.0
        for j in range(nd):
            for t in range(k):
                new[t] += norm[j] * beta_d[j, t]
        total = 0.0
        for t in range(k):
            new[t] = et[t] * new[t] + prior
            total += new[t]
        psi_total = _psi(total)
        change = 0.0
        for t in range(k):
            et[t] = np.exp(_psi(new[t]) - psi_total)
            change += abs(gamma_d[t] - new[t])
            gamma_d[t] = new[t]
        if change / k < tol:
            break


@numba.njit(cache=True, nogil=True)
def _doc_updates(indptr, indices, data, exp_beta, prior, max_iter, tol, eps, gamma, exp_theta,
                 cal_sstats, suff):  # pragma: no cover - compiled
    """Variational E-step for every document (row) of a CSR matrix, in place.

    ``exp_beta`` (k, n_words): ``exp(E[log beta])``; ``gamma`` / ``exp_theta`` (n_docs, k): the
    start values in, the fitted mixture ``gamma`` out (``exp_theta`` is scratch); ``suff`` (k,
    n_words): the documents' sufficient statistics are added to it when ``cal_sstats`` (before
    the final multiplication by ``exp_beta``, which the caller does, as scikit-learn does).
    """
    k = exp_beta.shape[0]
    for d in range(gamma.shape[0]):
        lo, hi = indptr[d], indptr[d + 1]
        words = indices[lo:hi]
        beta_d = np.empty((hi - lo, k), gamma.dtype)
        beta_t = np.empty((k, hi - lo), gamma.dtype)
        for j in range(hi - lo):
            for t in range(k):
                beta_d[j, t] = beta_t[t, j] = exp_beta[t, words[j]]
        et = exp_theta[d].copy()
        _doc_fixed_point(beta_d, beta_t, data[lo:hi], gamma[d], et, prior, max_iter, tol, eps)
        if cal_sstats:
            for j in range(hi - lo):
                s = 0.0
                for t in range(k):
                    s += et[t] * beta_d[j, t]
                r = data[lo + j] / (s + eps)
                for t in range(k):
                    suff[t, words[j]] += et[t] * r


@numba.njit(cache=True, nogil=True)
def _expected_log_likelihood(indptr, indices, data, elog_theta, elog_beta):  # pragma: no cover
    """``sum_d sum_w n_dw log sum_k exp(E[log theta_dk] + E[log beta_kw])``: the documents' term
    of the variational bound, as scikit-learn's per-document ``logsumexp`` loop computes it."""
    k = elog_beta.shape[0]
    score = 0.0
    for d in range(elog_theta.shape[0]):
        for j in range(indptr[d], indptr[d + 1]):
            w = indices[j]
            top = -np.inf
            for t in range(k):
                top = max(top, elog_theta[d, t] + elog_beta[t, w])
            s = 0.0
            for t in range(k):
                s += np.exp(elog_theta[d, t] + elog_beta[t, w] - top)
            score += data[j] * (top + np.log(s))
    return score


def update_doc_distribution(X, exp_topic_word_distr: np.ndarray, doc_topic_prior: float,
                            max_doc_update_iter: int, mean_change_tol: float, cal_sstats: bool,
                            random_state) -> tuple[np.ndarray, np.ndarray | None]:
    """Drop-in for ``sklearn.decomposition._lda._update_doc_distribution`` (same arguments, same
    results up to rounding): ``(doc_topic_distr, suff_stats or None)``. Needs the tested
    scikit-learn (:func:`tastemap.core.compat.sklearn_dirichlet_expectation_2d`)."""
    _dirichlet_expectation_2d = sklearn_dirichlet_expectation_2d()
    X = sp.csr_matrix(X)
    n, m = X.shape
    k = exp_topic_word_distr.shape[0]
    if random_state:
        gamma = random_state.gamma(100.0, 0.01, (n, k)).astype(X.dtype, copy=False)
    else:
        gamma = np.ones((n, k), dtype=X.dtype)
    exp_theta = np.exp(_dirichlet_expectation_2d(gamma))
    suff = np.zeros((k, m), dtype=X.dtype)
    _doc_updates(X.indptr, X.indices, X.data,
                 np.ascontiguousarray(exp_topic_word_distr, dtype=X.dtype),
                 X.dtype.type(doc_topic_prior), int(max_doc_update_iter), float(mean_change_tol),
                 float(np.finfo(X.dtype).eps), gamma, exp_theta, bool(cal_sstats), suff)
    return gamma, (suff if cal_sstats else None)


class CompiledLDA(LDAStepHooks):
    """``sklearn.decomposition.LatentDirichletAllocation`` whose E-step runs
    :func:`update_doc_distribution` and whose variational bound (``bound_``, ``perplexity``,
    ``score``) sums the documents' term in :func:`_expected_log_likelihood` instead of a Python
    loop of ``logsumexp`` calls (see the module docstring); same parameters and attributes. Both
    run only with the tested scikit-learn (:class:`tastemap.core.compat.LDAStepHooks`).

    >>> from sklearn.decomposition import LatentDirichletAllocation
    >>> X = sp.csr_matrix(np.array([[3.0, 1, 0, 0], [0, 0, 2, 4], [2, 2, 0, 1]]))
    >>> ours = CompiledLDA(n_components=2, learning_method="batch", random_state=0).fit(X)
    >>> theirs = LatentDirichletAllocation(n_components=2, learning_method="batch",
    ...                                    random_state=0).fit(X)
    >>> bool(np.allclose(ours.components_, theirs.components_, rtol=1e-9))
    True
    """

    def fast_e_step(self, X, cal_sstats, random_init):
        if self.n_jobs not in (None, 1):
            return NotImplemented
        doc_topic_distr, suff_stats = update_doc_distribution(
            X, self.exp_dirichlet_component_, self.doc_topic_prior_, self.max_doc_update_iter,
            self.mean_change_tol, cal_sstats, self.random_state_ if random_init else None,
        )
        if cal_sstats:
            suff_stats = suff_stats.astype(self.components_.dtype, copy=False)
            suff_stats *= self.exp_dirichlet_component_
        return doc_topic_distr, suff_stats

    def fast_approx_bound(self, X, doc_topic_distr, sub_sampling):
        _dirichlet_expectation_2d = sklearn_dirichlet_expectation_2d()
        X = sp.csr_matrix(X)
        n_samples = doc_topic_distr.shape[0]
        elog_theta = _dirichlet_expectation_2d(doc_topic_distr)
        elog_beta = _dirichlet_expectation_2d(self.components_)
        # E[log p(docs | theta, beta)], then scikit-learn's own prior terms
        score = _expected_log_likelihood(X.indptr, X.indices, X.data, elog_theta, elog_beta)
        score += _dirichlet_log_likelihood(self.doc_topic_prior_, doc_topic_distr, elog_theta,
                                           self.n_components)
        if sub_sampling:
            score *= float(self.total_samples) / n_samples
        score += _dirichlet_log_likelihood(self.topic_word_prior_, self.components_, elog_beta,
                                           self.components_.shape[1])
        return score


def _dirichlet_log_likelihood(prior, distr, dirichlet_distr, size) -> float:
    """``E[log p(theta | prior) - log q(theta | distr)]`` (scikit-learn's ``_loglikelihood``)."""
    score = np.sum((prior - distr) * dirichlet_distr)
    score += np.sum(gammaln(distr) - gammaln(prior))
    score += np.sum(gammaln(prior * size) - gammaln(np.sum(distr, 1)))
    return score
