"""What every part of :class:`tastemap.app.loader.Results` shares: the errors, the constants, the
model-family questions and :class:`Base`, the cached file access the stage mixins build on."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tastemap.data.names import UnknownName, suggestions

ENTITIES = ("artist", "song")
FITS = ("full", "train", "valid")
METHODS = ("pca", "umap", "tsne", "svd")
SIDES = ("users", "items")


class NotRun(FileNotFoundError):
    """An output the run did not make; the message names the path and what makes it."""


def _unknown(kind: str, name: Any, names: Any, where: Path, list_all: bool = False) -> UnknownName:
    """The error for an unknown name: the closest names, or all of a short list (models)."""
    if list_all:
        hint = f"; known: {', '.join(map(str, names))}"
    else:
        close = suggestions(str(name), names)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return UnknownName(f"unknown {kind} {str(name)!r} in {where}{hint}")


def family(model: str) -> type:
    """The class of the model family registered as ``model`` (imports only its light module):
    its declarations say what it can do (``folds_in``: recommend for new users without
    refitting; ``explains``: name the played items behind a recommendation)."""
    from tastemap.models import registry

    try:
        return registry.get(model)
    except KeyError as err:
        raise UnknownName(err.args[0]) from None


def folds_in(model: str) -> bool:
    """Whether the family scores new users from their plays without refitting (``folds_in``)."""
    return bool(family(model).folds_in)


def explains(model: str) -> bool:
    """Whether the family can name the played items behind a recommendation (``explains``)."""
    return bool(family(model).explains)


def _check_entity(entity: str) -> None:
    if entity not in ENTITIES:
        raise ValueError(f"entity must be one of {ENTITIES}, not {entity!r}")


def _need(path: Path, hint: str) -> Path:
    if not path.exists():
        raise NotRun(f"{path}: not found - {hint} was not run (or the run did not finish)")
    return path


class Base:
    """The folder of a run and the cache of what was read from it (set by ``Results``), with the
    helpers every stage mixin uses to find and read files."""

    path: Path
    _cache: dict[tuple, Any]

    def _file(self, rel: str, hint: str) -> Path:
        return _need(self.path / rel, hint)

    def _parquet(self, rel: str, hint: str = "the data stage") -> pd.DataFrame:
        key = ("parquet", rel)
        if key not in self._cache:
            self._cache[key] = pd.read_parquet(self._file(rel, hint))
        return self._cache[key]

    def _rows(self, rel: str, column: str, value: int, hint: str) -> pd.DataFrame:
        """Rows of a large Parquet table with ``column == value``: from the cached table, else
        read with a filter (one user of millions, without loading them all)."""
        key = ("parquet", rel)
        if key in self._cache:
            table = self._cache[key]
            return table[table[column] == value].reset_index(drop=True)
        return pd.read_parquet(self._file(rel, hint), filters=[(column, "==", value)])
