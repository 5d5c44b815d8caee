"""The torch modules of the PyTorch recommenders (imported by their ``fit``; this module imports
torch, the family modules do not, see ``tastemap.models._torch``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class KLItem2Vec(nn.Module):
    """item2vec, course variant: ``Embedding(n, d) -> Linear(d, n) -> log_softmax``."""

    def __init__(self, n: int, d: int):
        super().__init__()
        self.embed = nn.Embedding(n, d)
        self.out = nn.Linear(d, n)

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.out(self.embed(items)), dim=1)


class Towers(nn.Module):
    """Two-tower model: a shared item embedding, a user MLP and an item MLP."""

    def __init__(self, n_items: int, d: int, hidden: int):
        super().__init__()
        self.embed = nn.Embedding(n_items, d, sparse=True)
        self.user_mlp = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, d))
        self.item_mlp = nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, d))

    def users(self, pooled: torch.Tensor) -> torch.Tensor:
        """Unit user vectors from mean-pooled item embeddings ``(b, d)``."""
        return F.normalize(self.user_mlp(pooled), dim=1)

    def items(self, items: torch.Tensor) -> torch.Tensor:
        """Unit item vectors of item ids ``(b,)``."""
        return F.normalize(self.item_mlp(self.embed(items)), dim=1)
