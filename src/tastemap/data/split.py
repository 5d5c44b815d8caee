"""Per-user train/test splits of a users x items matrix: holdout, leave-one-out, temporal.

Every split partitions the stored entries of the matrix: ``train + test == full`` exactly, both of
the full matrix's shape. Only users with at least ``min_items`` items get test items; the others
stay whole in train. Everything is vectorised over the stored entries (one ``lexsort``), no loop
per user, so a Last.fm-360K-sized matrix splits in seconds.

:func:`check_split` is what the split rule runs on each split it writes: it raises
:class:`NoTestUsers` (one line naming the config keys to change) when no user got a test item,
so such a log stops at the split, not in an evaluation that scores nothing.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

SCHEMES = ("holdout", "loo", "temporal")
#: the parts of a split given as files, in the order of their rows
GIVEN_PARTS = ("train", "validation", "test")
#: Per entity, the prepare filter that takes items away from users, and its value that takes none.
ITEM_FILTERS = {"artist": ("min_artist_listeners", 1), "song": ("min_track_listeners", 0)}


class NoTestUsers(ValueError):
    """A split in which no user got a test item: evaluating on it would score nothing. The
    message is one line naming the entity and the config keys to change."""


def _rows(m: sp.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))


def _rank_within_rows(rows: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """Rank (0-based) of every entry inside its row when sorted by ``keys`` (first key first)."""
    order = np.lexsort(tuple(reversed(keys)) + (rows,))
    counts = np.bincount(rows, minlength=rows.max() + 1 if len(rows) else 0)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(rows), dtype=np.int64)
    rank[order] = np.arange(len(rows)) - starts[rows[order]]
    return rank


def _partition(m: sp.csr_matrix, is_test: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    def part(mask: np.ndarray) -> sp.csr_matrix:
        data = np.where(mask, m.data, 0).astype(m.dtype)
        out = sp.csr_matrix((data, m.indices.copy(), m.indptr.copy()), shape=m.shape)
        out.eliminate_zeros()
        return out

    return part(~is_test), part(is_test)


def _n_test(n_items: np.ndarray, fraction: float, min_items: int) -> np.ndarray:
    """Items held out per user: round(fraction * n), at least 1, at most n - 1; 0 if n < min_items."""
    n = np.clip(np.rint(fraction * n_items).astype(np.int64), 1, np.maximum(n_items - 1, 0))
    return np.where(n_items >= min_items, n, 0)


def holdout(
    m: sp.csr_matrix, fraction: float = 0.2, min_items: int = 5, seed: int = 0
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Hold out a random ``fraction`` of each eligible user's items.

    >>> m = sp.csr_matrix(np.ones((2, 10), dtype=np.float32))
    >>> train, test = holdout(m, 0.2, 5, seed=1)
    >>> np.diff(test.indptr).tolist(), (train + test != m).nnz
    ([2, 2], 0)
    """
    m = _checked(m, fraction)
    rng = np.random.default_rng(seed)
    rows = _rows(m)
    rank = _rank_within_rows(rows, rng.random(m.nnz))
    n_test = _n_test(np.diff(m.indptr), fraction, min_items)
    return _partition(m, rank < n_test[rows])


def leave_one_out(
    m: sp.csr_matrix, top_n: int = 6, min_items: int = 5, seed: int = 0
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Hold out one item per eligible user, drawn uniformly from their ``top_n`` most-played.

    The course protocol (top-6 artists, HitRate@10). Ties in play count are broken at random.
    """
    m = _checked(m, 0.5)
    rng = np.random.default_rng(seed)
    rows = _rows(m)
    rank = _rank_within_rows(rows, -m.data.astype(np.float64), rng.random(m.nnz))
    n_items = np.diff(m.indptr)
    pool = np.minimum(n_items, top_n)
    pick = np.floor(rng.random(m.shape[0]) * pool).astype(np.int64)
    eligible = n_items >= max(min_items, 2)
    return _partition(m, (rank == pick[rows]) & eligible[rows])


def temporal(
    m: sp.csr_matrix, first_listen: np.ndarray, fraction: float = 0.2, min_items: int = 5, seed: int = 0
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Hold out each eligible user's last ``fraction`` of items by first-listen time.

    ``first_listen`` is aligned with ``m.data`` (see ``matrices.build_times``); equal times are
    ordered at random (seeded).
    """
    m = _checked(m, fraction)
    if len(first_listen) != m.nnz:
        raise ValueError(f"first_listen has {len(first_listen)} values for {m.nnz} entries")
    if np.isnan(first_listen).any():
        raise ValueError("temporal split needs a timestamp for every entry; some are missing")
    rng = np.random.default_rng(seed)
    rows = _rows(m)
    rank = _rank_within_rows(rows, -first_listen, rng.random(m.nnz))  # newest first
    n_test = _n_test(np.diff(m.indptr), fraction, min_items)
    return _partition(m, rank < n_test[rows])


def split(
    m: sp.csr_matrix,
    scheme: str,
    seed: int,
    test_fraction: float = 0.2,
    min_user_items: int = 5,
    loo_top_n: int = 6,
    first_listen: np.ndarray | None = None,
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Dispatch to one scheme (``holdout``, ``loo`` or ``temporal``) with its parameters."""
    if scheme == "holdout":
        return holdout(m, test_fraction, min_user_items, seed)
    if scheme == "loo":
        return leave_one_out(m, loo_top_n, min_user_items, seed)
    if scheme == "temporal":
        if first_listen is None:
            raise ValueError("split.scheme=temporal needs timestamps, which this dataset does not have")
        return temporal(m, first_listen, test_fraction, min_user_items, seed)
    raise ValueError(f"split.scheme: unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")


def given(full: sp.csr_matrix, users: np.ndarray, items: np.ndarray, parts: np.ndarray,
          ) -> dict[str, sp.csr_matrix]:
    """Partition ``full`` by the parts of a split given as files (``split.scheme: given``).

    ``users``, ``items`` (row and column of each pair of the files) and ``parts`` (its part:
    ``"train"``, ``"validation"`` or ``"test"``) come from ``data/given_split.parquet`` mapped
    to ids. Returns ``{part: matrix}`` for the parts present, each with the shape of ``full``
    and its values; together they are ``full`` exactly.

    Raises :class:`RuntimeError` when an entry of ``full`` has no part or a pair of the files
    is not in ``full`` (prepare dropped it).

    >>> full = sp.csr_matrix(np.array([[1, 2, 0], [0, 3, 4]], dtype=np.float32))
    >>> out = given(full, np.array([0, 0, 1, 1]), np.array([0, 1, 1, 2]),
    ...             np.array(["train", "test", "train", "test"]))
    >>> out["train"].toarray().tolist(), out["test"].toarray().tolist()
    ([[1.0, 0.0, 0.0], [0.0, 3.0, 0.0]], [[0.0, 2.0, 0.0], [0.0, 0.0, 4.0]])
    """
    full = sp.csr_matrix(full)
    full.sum_duplicates()
    full.sort_indices()
    n_cols = full.shape[1]
    keys = _rows(full).astype(np.int64) * n_cols + full.indices
    pair_keys = np.asarray(users, np.int64) * n_cols + np.asarray(items, np.int64)
    pair_keys, first = np.unique(pair_keys, return_index=True)  # a pair repeated in its file
    names = np.asarray(parts)[first]
    pos = np.searchsorted(pair_keys, keys)
    pos = np.minimum(pos, max(len(pair_keys) - 1, 0))
    found = len(pair_keys) > 0 and pair_keys[pos] == keys
    if not np.all(found):
        raise RuntimeError(f"given split: {int((~np.asarray(found)).sum())} entries of the "
                           "matrix are in no file (a bug)")
    if len(pair_keys) != len(keys):
        raise RuntimeError(
            f"given split: {len(pair_keys) - len(keys):,} pairs of the files are not in the "
            "matrix: prepare dropped them; with split.scheme given keep prepare's filters off "
            "(prepare.min_artist_listeners and min_user_items 1, normalize_artist_names false)")
    return {part: _partition(full, names[pos] == part)[1]
            for part in GIVEN_PARTS if (names == part).any()}


def given_ids(pairs, users, items) -> tuple[np.ndarray, np.ndarray]:
    """Row and column ids of the pairs of a given split's files (``data/given_split.parquet``:
    ``user``, ``artist``) from prepare's tables (``users``: ``user_idx, user``; ``items``:
    ``artist_idx, artist``). Raises :class:`RuntimeError` when prepare dropped a name."""
    import pandas as pd

    rows = pd.Index(users["user"]).get_indexer(pairs["user"])
    cols = pd.Index(items["artist"]).get_indexer(pairs["artist"])
    dropped = (rows < 0) | (cols < 0)
    if dropped.any():
        raise RuntimeError(
            f"given split: {int(dropped.sum()):,} pairs of the files name users or items that "
            "prepare dropped; with split.scheme given keep prepare's filters off "
            "(prepare.min_artist_listeners and min_user_items 1)")
    return (users["user_idx"].to_numpy()[rows].astype(np.int64),
            items["artist_idx"].to_numpy()[cols].astype(np.int64))


def given_splits(full: sp.csr_matrix, parts: dict[str, sp.csr_matrix], validation: bool,
                 seed, test_fraction: float = 0.2, min_user_items: int = 5,
                 ) -> dict[str, sp.csr_matrix]:
    """The matrices a split job writes for a given split (``parts``: :func:`given`):
    ``train`` = train (+ validation) and ``test`` = test, and with ``validation`` the validation
    split: ``valid_train`` = train, ``valid_test`` = the validation file, or without one a
    holdout of train drawn by ``seed`` (``test_fraction``, ``min_user_items``)."""
    train, test = parts["train"], parts["test"]
    if "validation" in parts:
        train = train + parts["validation"]
    out = {"train": train, "test": test}
    if validation and "validation" in parts:
        out.update(valid_train=parts["train"], valid_test=parts["validation"])
    elif validation:
        out["valid_train"], out["valid_test"] = holdout(train, test_fraction, min_user_items, seed)
    return out


def _checked(m: sp.spmatrix, fraction: float) -> sp.csr_matrix:
    if not 0 < fraction < 1:
        raise ValueError(f"split.test_fraction must be in (0, 1), got {fraction}")
    m = sp.csr_matrix(m)
    m.sum_duplicates()
    m.sort_indices()
    return m


def check_split(full: sp.csr_matrix, train: sp.csr_matrix, test: sp.csr_matrix, entity: str,
                min_user_items: int, part: str = "test", prepare: dict | None = None) -> int:
    """Check one split of ``full`` (``part``: ``"test"``, or ``"validation"`` for a split of train)
    and return its number of test users.

    Raises :class:`RuntimeError` unless ``train + test == full`` exactly (a bug, not bad data), and
    :class:`NoTestUsers` when no user has a test item. ``prepare`` (the prepare config, optional)
    lets the message name the prepare filter that took ``entity`` items away from users.

    >>> one_each = sp.csr_matrix(np.eye(3, dtype=np.float32))
    >>> check_split(one_each, *holdout(one_each), "artist", 5)
    Traceback (most recent call last):
    ...
    tastemap.data.split.NoTestUsers: artist test split: no user gets a test item: 0 of the 3 users have \
split.min_user_items=5 artists or more (the most any user has is 1, and one must stay in train); \
the log has too few artists per user for a per-user split
    """
    if not (train.shape == test.shape == full.shape) or (train + test != full).nnz:
        raise RuntimeError(f"{entity} {part} split: train + test is not the matrix split (a bug)")
    n_test = int((np.diff(test.indptr) > 0).sum())
    if n_test == 0:
        raise NoTestUsers(_no_test_users(full, entity, min_user_items, part, prepare or {}))
    return n_test


def _no_test_users(m: sp.csr_matrix, entity: str, min_user_items: int, part: str,
                   prepare: dict) -> str:
    """The one-line message of :class:`NoTestUsers`: what is missing and which keys change it."""
    n_items = np.diff(sp.csr_matrix(m).indptr)
    users, most = int((n_items > 0).sum()), int(n_items.max(initial=0))
    left = " left in train" if part == "validation" else ""
    msg = (f"{entity} {part} split: no user gets a test item: 0 of the {users:,} users have "
           f"split.min_user_items={min_user_items} {entity}s or more{left} "
           f"(the most any user has is {most}"
           + (", and one must stay in train)" if most < 2 else ")"))
    fixes = [f"lower split.min_user_items to {most}"] if most >= 2 else []
    if part == "validation":
        fixes.append("set split.validation: false")
    key, takes_none = ITEM_FILTERS.get(entity, (None, None))
    if key in prepare and prepare[key] != takes_none:
        fixes.append(f"lower prepare.{key} (now {prepare[key]}: it takes {entity}s from users)")
    if not fixes:
        return f"{msg}; the log has too few {entity}s per user for a per-user split"
    return f"{msg}; " + ", or ".join(fixes)


def restrict(full: sp.csr_matrix, values: np.ndarray, sub: sp.csr_matrix) -> np.ndarray:
    """Values aligned with ``full.data`` re-aligned with ``sub.data`` (``sub`` ⊆ ``full``).

    Used to carry first-listen times from the full matrix to its train part, for a temporal
    validation split inside train.
    """
    n_cols = full.shape[1]
    full_keys = _rows(full).astype(np.int64) * n_cols + full.indices
    sub_keys = _rows(sub).astype(np.int64) * n_cols + sub.indices
    pos = np.searchsorted(full_keys, sub_keys)
    if len(sub_keys) and (pos.max() >= len(full_keys) or not np.array_equal(full_keys[pos], sub_keys)):
        raise ValueError("restrict: sub has entries that full does not have")
    return values[pos]


# ---- held-out users (strong generalisation) ---------------------------------------------------

#: how the likes curve picks the items a new listener names
PICKS = ("most played", "random")


def held_out_users(m: sp.csr_matrix, fraction: float, max_users: int, min_items: int,
                   seed) -> tuple[np.ndarray, np.ndarray]:
    """Validation and test users (sorted row ids, disjoint) drawn among the rows of ``m`` with at
    least ``min_items`` stored items: ``round(fraction * eligible)`` each, at most ``max_users``.

    >>> m = sp.csr_matrix(np.ones((10, 6), dtype=np.float32))
    >>> valid, test = held_out_users(m, 0.2, 100, 5, seed=0)
    >>> len(valid), len(test), len(np.intersect1d(valid, test))
    (2, 2, 0)
    """
    eligible = np.flatnonzero(np.diff(sp.csr_matrix(m).indptr) >= min_items)
    n = min(int(np.rint(fraction * len(eligible))), int(max_users), len(eligible) // 2)
    drawn = np.random.default_rng(seed).permutation(eligible)
    return np.sort(drawn[:n]), np.sort(drawn[n : 2 * n])


def set_aside(m: sp.csr_matrix, users: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(rest, held)``: ``m`` without the rows of ``users``, and only those rows; both of the
    shape of ``m``, ``rest + held == m``.

    >>> rest, held = set_aside(sp.csr_matrix(np.eye(3, dtype=np.float32)), np.array([1]))
    >>> rest.toarray().diagonal().tolist(), held.toarray().diagonal().tolist()
    ([1.0, 0.0, 1.0], [0.0, 1.0, 0.0])
    """
    m = sp.csr_matrix(m)
    return _partition(m, np.isin(_rows(m), users))


def hold_out_users(m: sp.csr_matrix, fraction: float, max_users: int, min_items: int, seed,
                   ) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """``(rest, valid, test)``: the rows of the users :func:`held_out_users` draws as validation
    and as test users (each of the shape of ``m``, only their rows stored), and ``m`` without
    them; ``rest + valid + test == m``. Raises :class:`NoTestUsers` when none is drawn although
    some users are eligible (with none eligible, none is held out: the split that follows says
    what the log lacks)."""
    valid_users, test_users = held_out_users(m, fraction, max_users, min_items, seed)
    eligible = int((np.diff(sp.csr_matrix(m).indptr) >= min_items).sum())
    if len(test_users) == 0 and eligible > 0:
        raise NoTestUsers(f"split.held_out_users: no user held out ({eligible} users have "
                          f"split.min_user_items={min_items} items or more, fraction {fraction}); "
                          "raise split.held_out_users.fraction, or set it to 0")
    rest, held = set_aside(m, np.concatenate([valid_users, test_users]))
    return rest, set_aside(held, valid_users)[1], set_aside(held, test_users)[1]


def fold_in_split(m: sp.csr_matrix, share: float, seed) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(fold_in, scored)``: a random ``share`` of each user's items (rounded, at least 1, at
    most n - 1) and the rest; users with one item are not split (scored is empty for them).

    >>> fold, scored = fold_in_split(sp.csr_matrix(np.ones((1, 10), dtype=np.float32)), 0.8, 0)
    >>> fold.nnz, scored.nnz
    (8, 2)
    """
    return holdout(m, 1.0 - share, 2, seed)


def likes_split(m: sp.csr_matrix, ns: Sequence[int], pick: str, seed,
                ) -> tuple[list[sp.csr_matrix], sp.csr_matrix, sp.csr_matrix]:
    """The likes curve's parts of the rows of ``m`` with more than ``max(ns)`` items (the other
    rows are left out of every part): ``(liked, pool, target)``. ``pool`` holds each user's
    first ``max(ns)`` items in ``pick`` order (:data:`PICKS`: the most played, ties in a seeded
    random order, or a seeded random order), ``liked[i]`` the first ``ns[i]`` of them (nested:
    the items liked at n include those liked at any smaller n), ``target`` the user's other
    items: the same target at every n, so only what the model is told changes.

    >>> m = sp.csr_matrix(np.array([[5, 1, 3, 2], [1, 1, 0, 0]], dtype=np.float32))
    >>> liked, pool, target = likes_split(m, [1, 2], "most played", 0)
    >>> liked[0].toarray()[0].tolist(), pool.toarray()[0].tolist(), target.toarray()[0].tolist()
    ([5.0, 0.0, 0.0, 0.0], [5.0, 0.0, 3.0, 0.0], [0.0, 1.0, 0.0, 2.0])
    >>> target.toarray()[1].tolist()
    [0.0, 0.0, 0.0, 0.0]
    """
    if pick not in PICKS:
        raise ValueError(f"pick must be one of {PICKS}, got {pick!r}")
    m = _checked(m, 0.5)
    rows = _rows(m)
    noise = np.random.default_rng(seed).random(m.nnz)
    keys = (-m.data.astype(np.float64), noise) if pick == "most played" else (noise,)
    rank = _rank_within_rows(rows, *keys)
    n_max = max(int(n) for n in ns)
    m = sp.csr_matrix((np.where((np.diff(m.indptr) > n_max)[rows], m.data, 0), m.indices,
                       m.indptr), shape=m.shape)
    target, pool = _partition(m, rank < n_max)
    return [_partition(m, rank < int(n))[1] for n in ns], pool, target
