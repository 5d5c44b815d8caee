"""tastemap.core.compat: each private hook is used with the tested library version and every private
name present, and otherwise the library's own code runs, with the library's own results."""
from __future__ import annotations

import logging
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import adjustText
import adjustText.arrops
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numba  # noqa: E402
import numba.core.config  # noqa: E402
import numba.core.dispatcher  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import sklearn  # noqa: E402
import sklearn.decomposition._online_lda_fast  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402
from sklearn.decomposition import LatentDirichletAllocation  # noqa: E402

from tastemap.core import compat, numba_cache  # noqa: E402
from tastemap.viz import labels  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CHECKS = (compat.adjusttext_internals, compat.sklearn_lda_internals, compat.numba_internals)


@pytest.fixture
def fresh_checks():
    """The cached version checks run again in the test (and after it, without its patches)."""
    for check in CHECKS:
        check.cache_clear()
    yield
    for check in CHECKS:
        check.cache_clear()


def compat_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "tastemap.core.compat" and r.levelno == logging.WARNING]


@pytest.mark.parametrize("dist, tested", [("adjustText", compat.ADJUSTTEXT_TESTED),
                                          ("scikit-learn", compat.SKLEARN_TESTED),
                                          ("numba", compat.NUMBA_TESTED)])
def test_pinned_and_installed_versions_are_tested_ones(dist, tested):
    """pyproject.toml pins a version each hook was tested with, and it is the installed one (else
    the fast paths would never run)."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [d.split("==")[1] for d in deps if re.split(r"[=<>!~ ]", d)[0].lower() == dist.lower()]
    assert len(pins) == 1 and pins[0] in tested
    module = {"adjustText": adjustText, "scikit-learn": sklearn, "numba": numba}[dist]
    assert module.__version__ in tested


def test_checks_pass_on_the_pinned_versions(fresh_checks, caplog):
    caplog.set_level(logging.WARNING)
    assert compat.adjusttext_internals() is not None
    assert compat.adjusttext_overlap_intervals() is adjustText.arrops.overlap_intervals
    assert compat.sklearn_lda_internals() is not None
    assert (compat.sklearn_dirichlet_expectation_2d()
            is sklearn.decomposition._online_lda_fast._dirichlet_expectation_2d)
    assert compat.numba_internals() is not None
    assert compat_warnings(caplog) == []


# --- adjustText -----------------------------------------------------------------------------

def fail(*args):
    raise AssertionError("tastemap's replacement ran")


def test_adjusttext_steps_are_swapped_for_the_call_and_restored(fresh_checks):
    original = adjustText.get_shifts_texts
    with compat.adjusttext_steps_replaced({"get_shifts_texts": fail}) as fast:
        assert fast and adjustText.get_shifts_texts is fail
    assert adjustText.get_shifts_texts is original
    with pytest.raises(RuntimeError), compat.adjusttext_steps_replaced({"get_shifts_texts": fail}):
        raise RuntimeError("in the block")
    assert adjustText.get_shifts_texts is original
    with pytest.raises(ValueError), compat.adjusttext_steps_replaced({"adjust_text": fail}):
        pass


def place_labels(place, seed=0):
    """Label positions and connector clipping patches of a small dense map labelled by
    ``place``."""
    rng = np.random.default_rng(seed)
    xy = rng.normal(size=(150, 2))
    pick = rng.choice(len(xy), 25, replace=False)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.scatter(xy[:, 0], xy[:, 1], s=4)
    texts = [ax.text(xy[i, 0], xy[i, 1], f"Artist name {i}", fontsize=8) for i in pick]
    place(texts, xy[pick, 0], xy[pick, 1], ax)
    fig.canvas.draw()
    positions = np.array([t.get_position() for t in texts])
    clipped_by = {type(p.patchA).__name__ for p in ax.patches if isinstance(p, FancyArrowPatch)}
    plt.close(fig)
    return positions, clipped_by


def test_adjust_labels_takes_the_fast_path_on_the_pinned_adjusttext(fresh_checks, monkeypatch):
    calls = []
    fast = labels.get_shifts_texts
    monkeypatch.setattr(labels, "get_shifts_texts", lambda c: calls.append(1) or fast(c))
    ours, our_clip = place_labels(lambda t, x, y, ax: labels.adjust_labels(t, x, y, ax, 10))
    assert 0 < len(calls) <= 10 and our_clip == {"TextBox"}
    theirs, _ = place_labels(lambda t, x, y, ax: adjustText.adjust_text(
        t, x=x, y=y, ax=ax, iter_lim=10, arrowprops=labels.ARROW))
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("reason", ["another adjustText", "no overlap_intervals"])
def test_adjust_labels_falls_back_to_adjusttext(fresh_checks, monkeypatch, caplog, reason):
    """With an untested adjustText or a private name gone, nothing is swapped: adjustText's own
    steps run (tastemap's would fail here) and the labels land where adjustText puts them."""
    if reason == "another adjustText":
        monkeypatch.setattr(adjustText, "__version__", "9.9.9")
    else:  # adjustText itself holds its own reference to the function
        monkeypatch.delattr(adjustText.arrops, "overlap_intervals")
    for name in compat.ADJUSTTEXT_STEPS:
        monkeypatch.setattr(labels, name, fail)
    caplog.set_level(logging.WARNING)
    assert not labels.patched()
    ours, our_clip = place_labels(lambda t, x, y, ax: labels.adjust_labels(t, x, y, ax, 10))
    theirs, their_clip = place_labels(lambda t, x, y, ax: adjustText.adjust_text(
        t, x=x, y=y, ax=ax, iter_lim=10, arrowprops=labels.ARROW))
    assert np.array_equal(ours, theirs)
    assert our_clip == their_clip == {"Text"}
    assert all(getattr(adjustText, name) is not fail for name in compat.ADJUSTTEXT_STEPS)
    warnings = compat_warnings(caplog)
    assert len(warnings) == 1 and "adjustText" in warnings[0]  # once, for both maps
    with pytest.raises(RuntimeError):
        compat.adjusttext_overlap_intervals()


# --- scikit-learn ---------------------------------------------------------------------------

class RecordingLDA(compat.LDAStepHooks):
    """Records the calls of the two hooks and leaves both steps to scikit-learn."""

    def fast_e_step(self, X, cal_sstats, random_init):
        self.calls.append("e_step")
        return NotImplemented

    def fast_approx_bound(self, X, doc_topic_distr, sub_sampling):
        self.calls.append("bound")
        return NotImplemented


def counts(seed=0):
    rng = np.random.default_rng(seed)
    return sp.csr_matrix(rng.poisson(0.6, (40, 30)).astype(float))


def fit_both():
    params = dict(n_components=3, learning_method="batch", max_iter=4, random_state=0)
    ours = RecordingLDA(**params)
    ours.calls = []
    ours.fit(counts())
    theirs = LatentDirichletAllocation(**params).fit(counts())
    return ours, theirs


def test_lda_hooks_run_on_the_pinned_sklearn(fresh_checks):
    ours, theirs = fit_both()
    assert {"e_step", "bound"} <= set(ours.calls)
    # NotImplemented leaves the step to scikit-learn: its fit, bit for bit
    np.testing.assert_array_equal(ours.components_, theirs.components_)


def _approx_bound_with_another_signature(self, X, doc_topic_distr, sub_sampling, extra=None):
    return ORIGINAL_APPROX_BOUND(self, X, doc_topic_distr, sub_sampling)


ORIGINAL_APPROX_BOUND = LatentDirichletAllocation._approx_bound


@pytest.mark.parametrize("reason", ["another scikit-learn", "no _dirichlet_expectation_2d",
                                    "another signature"])
def test_lda_hooks_fall_back_to_sklearn(fresh_checks, monkeypatch, caplog, reason):
    if reason == "another scikit-learn":
        monkeypatch.setattr(sklearn, "__version__", "9.9.9")
    elif reason == "no _dirichlet_expectation_2d":  # scikit-learn's _lda holds its own reference
        monkeypatch.delattr(sklearn.decomposition._online_lda_fast, "_dirichlet_expectation_2d")
    else:
        monkeypatch.setattr(LatentDirichletAllocation, "_approx_bound",
                            _approx_bound_with_another_signature)
    caplog.set_level(logging.WARNING)
    ours, theirs = fit_both()
    assert ours.calls == []
    np.testing.assert_array_equal(ours.components_, theirs.components_)
    assert ours.bound_ == theirs.bound_
    warnings = compat_warnings(caplog)
    assert len(warnings) == 1 and "scikit-learn" in warnings[0]
    with pytest.raises(RuntimeError):
        compat.sklearn_dirichlet_expectation_2d()


# --- numba ----------------------------------------------------------------------------------

def _add_one(x):
    return x + 1


@pytest.fixture
def uncached_package(monkeypatch, tmp_path):
    """A package ``tmfake`` in ``sys.modules`` holding a new numba function without
    ``cache=True``, and numba's cache directory set to ``tmp_path``."""
    monkeypatch.setattr(numba.core.config, "CACHE_DIR", str(tmp_path))
    module = ModuleType("tmfake")
    module.add_one = numba.njit(_add_one)
    module.not_numba = _add_one
    monkeypatch.setitem(sys.modules, "tmfake", module)
    return module


def cache_files(path: Path) -> list[Path]:
    return sorted(path.rglob("*.nb[ic]"))


def test_disk_cache_switched_on_with_the_pinned_numba(fresh_checks, uncached_package, tmp_path):
    assert numba_cache.enable_disk_cache(("tmfake",)) == 1
    assert numba_cache.enable_disk_cache(("tmfake",)) == 0  # already on
    assert uncached_package.add_one(1) == 2
    assert any(p.suffix == ".nbi" for p in cache_files(tmp_path))  # compiled code on disk
    assert not compat.numba_enable_disk_cache(_add_one)  # not a numba function: left alone


@pytest.mark.parametrize("reason", ["another numba", "no enable_caching"])
def test_disk_cache_left_off_otherwise(fresh_checks, uncached_package, tmp_path, monkeypatch,
                                       caplog, reason):
    """With an untested numba or a private name gone, the functions stay as the package made
    them: compiled in the process, nothing written to the cache directory."""
    if reason == "another numba":
        monkeypatch.setattr(numba, "__version__", "9.9.9")
    else:
        monkeypatch.delattr(numba.core.dispatcher.Dispatcher, "enable_caching")
    caplog.set_level(logging.WARNING)
    assert numba_cache.enable_disk_cache(("tmfake",)) == 0
    assert uncached_package.add_one(1) == 2
    assert cache_files(tmp_path) == []
    warnings = compat_warnings(caplog)
    assert len(warnings) == 1 and "numba" in warnings[0]
