"""Small helpers shared by the PyTorch recommenders (``mf``, ``item2vec``, ``sgns``, ``twotower``).

Importing this module does not import torch (the public model modules import it at module
level, and the workflow imports every model module when it parses the Snakefile); only
``torch_session`` imports torch, when a fit starts. The torch code itself (networks, the shared
training loop) lives in the private ``_train`` module, imported inside ``fit``.

- ``torch_session``: seed, thread count and deterministic algorithms for the length of one fit,
  restoring the process-wide torch settings afterwards (a notebook keeps its own).
- ``History``: collects the ``(epoch, split, metric, value)`` tuples of ``history_`` (the
  training curve the workflow writes to ``history.parquet``, see ``base``); ``frame()`` gives
  the same rows as a DataFrame.
- ``coo_of``: the stored entries of a CSR as ``(rows, cols, values)`` arrays.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

if TYPE_CHECKING:  # annotations only: importing this module must not import torch
    import torch

logger = logging.getLogger(__name__)

#: Columns and dtypes of ``history_`` / ``history.parquet``.
HISTORY_COLUMNS = {"epoch": "int32", "split": "str", "metric": "str", "value": "float64"}


@contextlib.contextmanager
def torch_session(random_state: int, num_threads: int = 1) -> Iterator[torch.Generator]:
    """Seed torch, fix its thread count and ask for deterministic kernels during one fit.

    Yields a ``torch.Generator`` seeded with ``random_state`` for every random draw of the fit.
    Global settings (threads, deterministic flag, default RNG state) are restored on exit.
    """
    import torch

    if not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ValueError(f"random_state must be a non-negative int, got {random_state!r}")
    if num_threads < 1:
        raise ValueError(f"num_threads must be >= 1, got {num_threads!r}")
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_rng = torch.get_rng_state()
    torch.set_num_threads(int(num_threads))
    _set_deterministic(True)
    torch.manual_seed(int(random_state))
    gen = torch.Generator().manual_seed(int(random_state))
    logger.info("torch %s: seed %d, %d thread(s), deterministic algorithms", torch.__version__,
                random_state, num_threads)
    try:
        yield gen
    finally:
        torch.set_num_threads(old_threads)
        _set_deterministic(old_det)
        torch.set_rng_state(old_rng)


#: stored entries per extra torch thread: below this, intra-op threads cost more than they save
ENTRIES_PER_THREAD = 1_000_000


def effective_threads(num_threads: int, n_entries: int) -> int:
    """Threads a fit on ``n_entries`` stored entries actually uses: ``num_threads`` capped at one
    per million entries (at least 1).

    The mini-batches of small fits are too small for torch's intra-op threads to pay off, and on
    a shared machine two spinning OpenMP threads made a 9,000-entry MF fit 5-15x slower than one
    thread (measured). Depends only on the arguments, so results stay reproducible.

    >>> effective_threads(4, 50_000), effective_threads(4, 2_500_000), effective_threads(1, 10**8)
    (1, 2, 1)
    """
    return int(max(1, min(int(num_threads), n_entries // ENTRIES_PER_THREAD)))


def _set_deterministic(mode: bool) -> None:
    """``torch.use_deterministic_algorithms(mode)`` without its import of ``torch._inductor``.

    The public function imports the whole inductor/dynamo compiler stack only to set
    ``torch._inductor.config.deterministic`` (unused here: nothing is compiled); that import
    took 16-20 s per process on the shared 2-core machine, i.e. per fit job. The kernel-level
    switch it then calls is the one set here; the public function is the fallback.
    """
    import torch

    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:  # pragma: no cover - older/newer torch without the private setter
        torch.use_deterministic_algorithms(mode)
    else:
        setter(mode)


class History:
    """Rows of a training curve: ``add(epoch, split, metric, value)``, then ``frame()``."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str, float]] = []

    def add(self, epoch: int, split: str, metric: str, value: float) -> None:
        if split not in ("train", "valid"):
            raise ValueError(f"split must be 'train' or 'valid', got {split!r}")
        self.rows.append((int(epoch), split, metric, float(value)))

    def frame(self) -> pd.DataFrame:
        """DataFrame ``epoch:int32, split:str, metric:str, value:float64`` (possibly empty)."""
        return empty_history() if not self.rows else pd.DataFrame(
            self.rows, columns=list(HISTORY_COLUMNS)).astype(HISTORY_COLUMNS)


def empty_history() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in HISTORY_COLUMNS.items()})


def coo_of(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows int64, cols int64, values float32)`` of the stored non-zero entries, row-major."""
    csr = sp.csr_matrix(matrix, dtype=np.float32)
    csr.eliminate_zeros()
    csr.sort_indices()
    rows = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
    return rows, csr.indices.astype(np.int64), csr.data.astype(np.float32)


def check_matrix(train: sp.spmatrix, name: str = "train") -> sp.csr_matrix:
    """Validate a users x items play-count matrix and return it as float32 CSR."""
    if not sp.issparse(train):
        raise TypeError(f"{name} must be a scipy sparse users x items matrix, got {type(train).__name__}")
    csr = sp.csr_matrix(train, dtype=np.float32)
    if csr.nnz and csr.data.min() < 0:
        raise ValueError(f"{name} holds negative play counts (min {csr.data.min()})")
    if csr.shape[0] < 1 or csr.shape[1] < 2:
        raise ValueError(f"{name} has shape {csr.shape}; need >= 1 user and >= 2 items")
    return csr


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm; zero rows stay zero. Shape unchanged, float32."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def mean_of_rows(user_items: sp.csr_matrix, item_vectors: np.ndarray) -> np.ndarray:
    """Mean of the item vectors of each user's stored items (binary), ``(n_users, d)``.

    ``user_items`` is users x items; a user without items gets a zero vector.
    """
    binary = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
    binary.eliminate_zeros()
    binary.data[:] = 1.0
    counts = np.asarray(binary.sum(axis=1)).ravel()
    sums = np.asarray(binary @ item_vectors, dtype=np.float32)
    return np.divide(sums, counts[:, None], out=np.zeros_like(sums), where=counts[:, None] > 0)
