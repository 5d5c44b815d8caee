"""Recommenders behind one interface (see ``base.Recommender``).

``make(name, **params)`` builds one. Families are imported on first use
(:data:`tastemap.models.registry.FAMILIES` maps each name to its class), and no family module
imports PyTorch, implicit or scikit-learn before it fits or scores; ``specs()`` imports every
family and returns name -> class, whose declarations say what each one can do.
"""
from tastemap.models.base import Recommender
from tastemap.models.params import Param
from tastemap.models.registry import FAMILIES, MODELS, get, make, register, specs, variants

__all__ = ["FAMILIES", "MODELS", "Param", "Recommender", "get", "make", "register", "specs",
           "variants"]
