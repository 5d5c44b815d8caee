"""Recommenders behind one interface (see ``base.Recommender``).

Importing this package registers every model family; ``make(name, **params)`` builds one.
"""
from tastemap.models.base import MODELS, Recommender, make, register  # noqa: F401

# Each family module registers itself on import; keep this list in step with the modules.
# (Families are added here as they land.)

__all__ = ["MODELS", "Recommender", "make", "register"]
