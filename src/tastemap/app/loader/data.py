"""The data stage's outputs of a run: tables, names and matrices (:class:`DataTables`)."""
from __future__ import annotations

import json
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from tastemap.app.loader.base import Base, _check_entity
from tastemap.core import layout as L
from tastemap.data.matrices import load_matrix
from tastemap.data.names import Match, NameIndex, UnknownName


class DataTables(Base):
    """Tables, name look-ups, matrices and splits (``data/``, ``matrices/``, ``splits/``)."""

    # ---- data tables ---------------------------------------------------------------------
    @property
    def users(self) -> pd.DataFrame:
        """``user_idx, user, n_artists, n_plays`` (data/users.parquet)."""
        return self._parquet(L.USERS)

    @property
    def artists(self) -> pd.DataFrame:
        """``artist_idx, artist, n_users, n_plays`` (data/artists.parquet)."""
        return self._parquet(L.ARTISTS)

    @property
    def songs(self) -> pd.DataFrame:
        """``song_idx, artist_idx, artist, track, n_users, n_plays`` (data/songs.parquet)."""
        return self._parquet(L.SONGS)

    @property
    def interactions(self) -> pd.DataFrame:
        """One row per (user, artist, track): ``user_idx, artist_idx, song_idx, plays, first_ts,
        last_ts`` (data/interactions.parquet)."""
        return self._parquet(L.INTERACTIONS)

    @property
    def listens(self) -> pd.DataFrame:
        """The canonical listening rows ``user, artist, track, timestamp, plays`` (can be large:
        one row per scrobble for Last.fm-1K)."""
        return self._parquet(L.LISTENS)

    @property
    def rejected(self) -> pd.DataFrame:
        """Raw lines ingest could not read: ``line`` (1-based), ``raw``, ``reason``."""
        return self._parquet(L.REJECTED)

    @cached_property
    def stats(self) -> dict:
        """``matrices/stats.json``: shape, nnz, density and quantiles of each matrix."""
        return json.loads(self._file(L.MATRIX_STATS, "the matrices stage").read_text())

    def items(self, entity: str = "artist") -> pd.DataFrame:
        """The item table of ``entity``: ``artists`` or ``songs``."""
        _check_entity(entity)
        return self.artists if entity == "artist" else self.songs

    def item_names(self, entity: str = "artist") -> np.ndarray:
        """Display name of every item by index: the artist, or ``"artist - track"`` for songs."""
        key = ("item_names", entity)
        if key not in self._cache:
            items = self.items(entity).sort_values(f"{entity}_idx")
            names = (items["artist"].astype(str) + " - " + items["track"].astype(str)
                     if entity == "song" else items["artist"].astype(str))
            self._cache[key] = names.to_numpy(dtype=object)
        return self._cache[key]

    def name_index(self, entity: str = "artist") -> NameIndex:
        """The :class:`tastemap.data.names.NameIndex` of the items of ``entity`` (artist names, or
        ``"artist - track"``), or of the users with ``entity="user"``."""
        key = ("name_index", entity)
        if key not in self._cache:
            if entity == "user":
                names = self.users.sort_values("user_idx")["user"].astype(str)
                self._cache[key] = NameIndex(names, "user", self.path / "data/users.parquet")
            else:
                self._cache[key] = NameIndex(self.item_names(entity), entity,
                                             self.path / f"data/{entity}s.parquet")
        return self._cache[key]

    def user_index(self, user: str | int) -> int:
        """``user_idx`` of a user name (exact, else forgiving: see :mod:`tastemap.data.names`); an int
        is taken as the index itself, range-checked."""
        if isinstance(user, (int, np.integer)):
            n = len(self.users)
            if not 0 <= int(user) < n:
                raise UnknownName(f"user_idx {user} out of range 0..{n - 1} in "
                                  f"{self.path / L.USERS}")
            return int(user)
        return self.name_index("user").find(user).idx

    def item_index(self, name: str, entity: str = "artist") -> int:
        """Index of an item by name: an artist name for ``entity="artist"``, ``"artist -
        track"`` for songs; exact, else forgiving (case, accents, punctuation: see
        :mod:`tastemap.data.names`). Unknown: :class:`UnknownName` with suggestions; several
        forgiving matches: :class:`AmbiguousName`."""
        return self.name_index(entity).find(name).idx

    def match(self, names, entity: str = "artist") -> list[Match]:
        """Every name of ``names`` matched to the catalogue of ``entity``, in order
        (:class:`tastemap.data.names.Match`: ``query, idx, name, how``); all unknown or ambiguous
        names are reported in one :class:`UnknownName`."""
        return self.name_index(entity).find_all(names)

    # ---- matrices and splits ---------------------------------------------------------------
    def matrix(self, entity: str = "artist", binary: bool = False) -> sp.csr_matrix:
        """Users x items CSR of play counts (float32); ``binary`` sets every stored count to 1."""
        _check_entity(entity)
        key = ("matrix", entity, binary)
        if key not in self._cache:
            path = self._file(L.path(L.MATRIX, entity=entity), f"entities: [{entity}]")
            self._cache[key] = load_matrix(path, binary=binary)
        return self._cache[key]

    def split(self, seed: int = 0, entity: str = "artist",
              valid: bool = False) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``(train, test)`` CSR of the seed's split (``layout.TRAIN``, ``TEST``; with ``valid``
        the validation split inside train); both have the full matrix's shape. With held-out
        users (:meth:`held_out`), train + test + their rows = the full matrix."""
        _check_entity(entity)
        parts = (L.VALID_TRAIN, L.VALID_TEST) if valid else (L.TRAIN, L.TEST)
        hint = f"seed {seed} (config seeds)" + (" with split.validation" if valid else "")
        return tuple(load_matrix(self._file(L.path(part, seed=seed, entity=entity), hint))
                     for part in parts)

    def held_out(self, seed: int = 0, entity: str = "artist") -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``(validation users, test users)``: the whole rows of the users no fit but the full
        one has seen (``split.held_out_users``; ``layout.HELD_OUT_VALID``, ``HELD_OUT_TEST``),
        each of the full matrix's shape."""
        _check_entity(entity)
        return tuple(load_matrix(self._file(L.path(part, seed=seed, entity=entity),
                                            "split.held_out_users"))
                     for part in (L.HELD_OUT_VALID, L.HELD_OUT_TEST))
