"""The only place where tastemap reaches into other libraries' internals.

Three measured speed-ups have no public API to go through (docs/benchmarks.md gives the
measurements; the modules named below explain the arithmetic):

- **adjustText** (:mod:`tastemap.viz.labels`): ``adjust_text`` takes no hook for its inner steps and
  looks ``get_shifts_texts``, ``get_shifts_extra`` and ``remove_crossings`` up in its module at
  every iteration; :func:`adjusttext_steps_replaced` swaps tastemap's bulk versions in for one
  call. tastemap's versions also use ``adjustText.arrops.overlap_intervals``.
- **scikit-learn** (:mod:`tastemap.topics.estep`): ``LatentDirichletAllocation`` has no parameter for
  its E-step or variational bound; :class:`LDAStepHooks` overrides the private ``_e_step`` and
  ``_approx_bound`` so that a subclass can compute them, and the compiled E-step starts from the
  private ``sklearn.decomposition._online_lda_fast._dirichlet_expectation_2d``.
- **numba** (:mod:`tastemap.core.numba_cache`): numba has no switch to cache on disk a function that
  was decorated without ``cache=True``; :func:`numba_enable_disk_cache` calls the dispatcher's
  ``enable_caching`` (undocumented) when its private ``_cache`` is numba's ``NullCache``.

Each section checks the installed library's version (the module's own ``__version__``) against
the versions the hook was written and tested for *before* it imports or touches anything private,
then looks up every private name it needs. If the version is another one or a name is missing,
nothing is patched: the library's own code runs unchanged (same results, without the speed-up)
and one WARNING per process says why. The checks are cached; ``cache_clear()`` on them (as the
tests do) checks again.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import logging
from collections.abc import Callable, Iterator, Mapping
from types import SimpleNamespace

from sklearn.decomposition import LatentDirichletAllocation

logger = logging.getLogger(__name__)


def _tested(library: str, version: str, tested: tuple[str, ...], hook: str) -> bool:
    """Whether ``version`` of ``library`` is one that ``hook`` was tested with (else logged)."""
    if version in tested:
        return True
    logger.warning("%s %s is not a version tastemap's %s was tested with (%s): using the "
                   "library's own code, without the speed-up", library, version, hook,
                   ", ".join(tested))
    return False


def _missing(library: str, version: str, hook: str, error: Exception) -> None:
    logger.warning("%s %s lacks what tastemap's %s needs (%s: %s): using the library's own "
                   "code, without the speed-up", library, version, hook, type(error).__name__,
                   error)


# --- adjustText -----------------------------------------------------------------------------

#: adjustText versions whose inner steps tastemap.viz.labels reproduces (pinned in pyproject.toml)
ADJUSTTEXT_TESTED = ("1.4.0",)
#: the module-level functions of adjustText that :func:`adjusttext_steps_replaced` may swap
ADJUSTTEXT_STEPS = ("get_shifts_texts", "get_shifts_extra", "remove_crossings")


@functools.cache
def adjusttext_internals() -> SimpleNamespace | None:
    """adjustText's module and its ``overlap_intervals`` if the installed adjustText is a tested
    one and has every name the swap needs; else None (logged once)."""
    import adjustText

    hook = "bulk label steps (tastemap.viz.labels)"
    version = str(getattr(adjustText, "__version__", "unknown"))
    if not _tested("adjustText", version, ADJUSTTEXT_TESTED, hook):
        return None
    try:
        from adjustText.arrops import overlap_intervals

        for name in ADJUSTTEXT_STEPS:
            if not callable(getattr(adjustText, name)):
                raise AttributeError(f"adjustText.{name} is not a function")
    except (ImportError, AttributeError) as error:
        _missing("adjustText", version, hook, error)
        return None
    return SimpleNamespace(module=adjustText, overlap_intervals=overlap_intervals)


def adjusttext_overlap_intervals() -> Callable:
    """adjustText's ``arrops.overlap_intervals`` (only there with a tested adjustText)."""
    internals = adjusttext_internals()
    if internals is None:
        raise RuntimeError("adjustText's overlap_intervals is not available (see the log)")
    return internals.overlap_intervals


@contextlib.contextmanager
def adjusttext_steps_replaced(steps: Mapping[str, Callable]) -> Iterator[bool]:
    """Within the block, adjustText's module-level functions named in ``steps`` (a subset of
    :data:`ADJUSTTEXT_STEPS`) are the given ones, restored afterwards (also on error); yields
    whether they were swapped (False, and adjustText unchanged, unless
    :func:`adjusttext_internals` passed). Two threads in the block at once would see each
    other's swap."""
    unknown = set(steps) - set(ADJUSTTEXT_STEPS)
    if unknown:
        raise ValueError(f"not a replaceable adjustText step: {sorted(unknown)}")
    internals = adjusttext_internals()
    if internals is None:
        yield False
        return
    module = internals.module
    originals = {name: getattr(module, name) for name in steps}
    try:
        for name, function in steps.items():
            setattr(module, name, function)
        yield True
    finally:
        for name, original in originals.items():
            setattr(module, name, original)


# --- scikit-learn ---------------------------------------------------------------------------

#: scikit-learn versions whose LDA E-step and bound tastemap.topics.estep reproduces
SKLEARN_TESTED = ("1.9.1",)
#: the private methods :class:`LDAStepHooks` overrides, with the parameters it passes on
SKLEARN_LDA_METHODS = {
    "_e_step": ("self", "X", "cal_sstats", "random_init", "parallel"),
    "_approx_bound": ("self", "X", "doc_topic_distr", "sub_sampling"),
}


@functools.cache
def sklearn_lda_internals() -> SimpleNamespace | None:
    """scikit-learn's ``_dirichlet_expectation_2d`` if the installed scikit-learn is a tested one,
    its ``LatentDirichletAllocation`` has the private methods :class:`LDAStepHooks` overrides with
    the same parameters, and the function is there; else None (logged once)."""
    import sklearn

    hook = "compiled LDA E-step and bound (tastemap.topics.estep)"
    version = str(getattr(sklearn, "__version__", "unknown"))
    if not _tested("scikit-learn", version, SKLEARN_TESTED, hook):
        return None
    try:
        for name, params in SKLEARN_LDA_METHODS.items():
            found = tuple(inspect.signature(getattr(LatentDirichletAllocation, name)).parameters)
            if found != params:
                raise AttributeError(f"LatentDirichletAllocation.{name}{found}, not {params}")
        from sklearn.decomposition._online_lda_fast import _dirichlet_expectation_2d
    except (ImportError, AttributeError) as error:
        _missing("scikit-learn", version, hook, error)
        return None
    return SimpleNamespace(dirichlet_expectation_2d=_dirichlet_expectation_2d)


def sklearn_dirichlet_expectation_2d() -> Callable:
    """scikit-learn's ``_dirichlet_expectation_2d`` (only there with a tested scikit-learn)."""
    internals = sklearn_lda_internals()
    if internals is None:
        raise RuntimeError("scikit-learn's _dirichlet_expectation_2d is not available (see the log)")
    return internals.dirichlet_expectation_2d


class LDAStepHooks(LatentDirichletAllocation):
    """scikit-learn's ``LatentDirichletAllocation`` whose E-step and variational bound a subclass
    may compute, in :meth:`fast_e_step` and :meth:`fast_approx_bound` (same arguments and results
    as scikit-learn's private ``_e_step`` and ``_approx_bound``, ``parallel`` aside). They are
    called only when :func:`sklearn_lda_internals` passed, and each may return
    ``NotImplemented`` to leave that call to scikit-learn; with another scikit-learn the
    estimator is scikit-learn's, unchanged."""

    def fast_e_step(self, X, cal_sstats, random_init):
        return NotImplemented

    def fast_approx_bound(self, X, doc_topic_distr, sub_sampling):
        return NotImplemented

    def _e_step(self, X, cal_sstats, random_init, parallel=None):
        if sklearn_lda_internals() is not None:
            result = self.fast_e_step(X, cal_sstats, random_init)
            if result is not NotImplemented:
                return result
        return super()._e_step(X, cal_sstats, random_init, parallel)

    def _approx_bound(self, X, doc_topic_distr, sub_sampling):
        if sklearn_lda_internals() is not None:
            result = self.fast_approx_bound(X, doc_topic_distr, sub_sampling)
            if result is not NotImplemented:
                return result
        return super()._approx_bound(X, doc_topic_distr, sub_sampling)


# --- numba ----------------------------------------------------------------------------------

#: numba versions whose dispatchers :func:`numba_enable_disk_cache` was tested with
NUMBA_TESTED = ("0.68.1",)


@functools.cache
def numba_internals() -> SimpleNamespace | None:
    """numba's ``Dispatcher`` and ``NullCache`` classes if the installed numba is a tested one, a
    new dispatcher has a ``_cache`` that is a ``NullCache`` and an ``enable_caching`` method;
    else None (logged once)."""
    import numba

    hook = "on-disk cache for umap-learn (tastemap.core.numba_cache)"
    version = str(getattr(numba, "__version__", "unknown"))
    if not _tested("numba", version, NUMBA_TESTED, hook):
        return None
    try:
        from numba.core.caching import NullCache
        from numba.core.dispatcher import Dispatcher

        probe = numba.njit(lambda x: x)  # not compiled: a dispatcher as umap's are
        if not isinstance(probe, Dispatcher) or not isinstance(probe._cache, NullCache):
            raise AttributeError("a new numba dispatcher has no NullCache in _cache")
        if not callable(Dispatcher.enable_caching):
            raise AttributeError("Dispatcher.enable_caching is not a method")
    except (ImportError, AttributeError) as error:
        _missing("numba", version, hook, error)
        return None
    return SimpleNamespace(Dispatcher=Dispatcher, NullCache=NullCache)


def numba_enable_disk_cache(obj) -> bool:
    """If ``obj`` is a numba dispatcher without an on-disk cache (decorated without
    ``cache=True``), switch it on, as ``cache=True`` would have; returns whether it did (never
    unless :func:`numba_internals` passed)."""
    internals = numba_internals()
    if internals is None or not isinstance(obj, internals.Dispatcher):
        return False
    if not isinstance(getattr(obj, "_cache", None), internals.NullCache):
        return False
    obj.enable_caching()
    return True
