"""Recommenders behind one interface (see ``base.Recommender``).

Importing this package registers every model family; ``make(name, **params)`` builds one.
"""
from tastemap.models.base import MODELS, Recommender, make, register  # noqa: F401

# Each family module registers itself on import; keep this list in step with the modules.
# (Families are added here as they land.)
# -- classic families (ALS, BPR, kNN, popularity, EASE) --
from tastemap.models import als, bpr, ease, knn, popularity  # noqa: E402,F401
# -- topics: LDA (topics stage) --
from tastemap.models import lda  # noqa: E402,F401
# -- PyTorch families: biased MF, item2vec (KL course variant + SGNS), two-tower --
from tastemap.models import item2vec, mf, twotower  # noqa: E402,F401

__all__ = ["MODELS", "Recommender", "make", "register"]
