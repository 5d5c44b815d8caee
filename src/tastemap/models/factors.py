"""What the factor families fit by a library share: :class:`ImplicitFactors` (ALS by
``implicit``, BPR) and :class:`Diverged`, the fit that failed at its hyper-parameters (both
importable from :mod:`tastemap.models.base` too)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


class Diverged(RuntimeError):
    """The fit diverged at these hyper-parameters (e.g. NaN factors at too high a learning
    rate): an outcome of the values, not a bug. A validation search scores such a trial 0."""


class ImplicitFactors:
    """Mixin for factor models kept as two arrays (ALS by ``implicit``, BPR): no library model
    object is kept; the factors are (``user_factors_``, ``item_factors_``), scores are their dot
    product (users x items)."""

    def _fit_implicit(self, model, matrix: sp.csr_matrix, callback) -> None:
        """``model.fit`` of implicit, its ``ModelFitError`` (NaN factors) as :class:`Diverged`."""
        from implicit.recommender_base import ModelFitError

        try:
            model.fit(matrix, show_progress=False, callback=callback)
        except ModelFitError as err:
            raise Diverged(f"{type(self).__name__} diverged at {self.get_params()}: {err}") from err

    def _keep_factors(self, model) -> None:
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)

    def _score(self, user_idx: np.ndarray) -> np.ndarray:
        return self.user_factors_[user_idx] @ self.item_factors_.T

    def _dot_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self.user_factors_, self.item_factors_
