"""Recommenders behind one interface (see ``base.Recommender``).

``make(name, **params)`` builds one. Families are imported on first use (``FAMILIES`` maps each
registered name to its module), so a job that fits ALS does not pay for importing PyTorch's
model code, scikit-learn's LDA and the rest; ``load_all()`` imports every family (fills
``MODELS``).
"""
from tastemap.models.base import FAMILIES, MODELS, Recommender, load_all, make, register  # noqa: F401

__all__ = ["FAMILIES", "MODELS", "Recommender", "load_all", "make", "register"]
