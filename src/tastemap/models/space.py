"""Search spaces: the hyper-parameters a family's validation search may change, and their ranges.

A family declares them on its class (``Recommender.search_space``: key -> :class:`Int`,
:class:`Float` or :class:`Choice`); :mod:`tastemap.pipeline.search` asks Optuna for one value of each per
trial. This module is light (no Optuna, torch or scikit-learn import) so the workflow can read
the declarations when it parses the Snakefile.

A config may narrow a dimension (``search.families.<name>.space.<key>``): ``[low, high]`` for a
number, a list of values for a choice, a one-element list to fix the value.

>>> Int(16, 256, log=True).narrowed([32, 64], "k")
Int(low=32, high=64, log=True)
>>> Choice(("log", "binary")).narrowed(["log"], "k")
Choice(values=('log',))
>>> Float(1.0, 100.0).narrowed([0.5, 10], "models.ease.l2")
Traceback (most recent call last):
...
ValueError: models.ease.l2: [0.5, 10] is outside the declared range [1.0, 100.0]
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def _bounds(values: Sequence[Any], key: str, kinds: tuple[type, ...], what: str,
            declared: tuple[Any, Any]) -> tuple[Any, Any]:
    """``[low, high]`` (or ``[value]``) of a config override, checked against ``declared``."""
    if not isinstance(values, (list, tuple)) or len(values) not in (1, 2):
        raise ValueError(f"{key}: give [low, high], or [value] to fix it; got {values!r}")
    low, high = values[0], values[-1]
    if not all(isinstance(v, kinds) and not isinstance(v, bool) for v in (low, high)):
        raise ValueError(f"{key}: {list(values)!r} are not {what}")
    if not declared[0] <= low <= high <= declared[1]:
        raise ValueError(f"{key}: {list(values)!r} is outside the declared range "
                         f"[{declared[0]}, {declared[1]}]")
    return low, high


@dataclass(frozen=True)
class Int:
    """An integer in ``[low, high]`` (both included), searched on a log scale if ``log``."""

    low: int
    high: int
    log: bool = False

    def narrowed(self, values: Sequence[Any], key: str) -> Int:
        low, high = _bounds(values, key, (int,), "integers", (self.low, self.high))
        return Int(low, high, self.log)

    def suggest(self, trial: Any, name: str) -> int:
        if self.low == self.high:
            return self.low
        return int(trial.suggest_int(name, self.low, self.high, log=self.log))

    def describe(self) -> str:
        return f"int {self.low}-{self.high}" + (", log" if self.log else "")


@dataclass(frozen=True)
class Float:
    """A real number in ``[low, high]``, searched on a log scale unless ``log`` is false."""

    low: float
    high: float
    log: bool = True

    def narrowed(self, values: Sequence[Any], key: str) -> Float:
        low, high = _bounds(values, key, (int, float), "numbers", (self.low, self.high))
        return Float(float(low), float(high), self.log)

    def suggest(self, trial: Any, name: str) -> float:
        if self.low == self.high:
            return self.low
        return float(trial.suggest_float(name, self.low, self.high, log=self.log))

    def describe(self) -> str:
        return f"float {self.low:g}-{self.high:g}" + (", log" if self.log else "")


@dataclass(frozen=True)
class Choice:
    """One of ``values``."""

    values: tuple

    def narrowed(self, values: Sequence[Any], key: str) -> Choice:
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"{key}: give a list of values; got {values!r}")
        unknown = [v for v in values if v not in self.values]
        if unknown:
            raise ValueError(f"{key}: {unknown!r} not among the declared values "
                             f"{list(self.values)!r}")
        return Choice(tuple(values))

    def suggest(self, trial: Any, name: str) -> Any:
        if len(self.values) == 1:
            return self.values[0]
        return trial.suggest_categorical(name, list(self.values))

    def describe(self) -> str:
        return "one of " + ", ".join(map(str, self.values))


Dimension = Int | Float | Choice


def narrowed(space: Mapping[str, Dimension], overrides: Mapping[str, Any],
             family: str) -> dict[str, Dimension]:
    """``space`` with the config's ``search.families.<family>.space`` applied (keys must exist).

    >>> narrowed({"l2": Float(1.0, 1e4)}, {"l2": [10.0, 100.0]}, "ease")
    {'l2': Float(low=10.0, high=100.0, log=True)}
    """
    out = dict(space)
    for key, values in overrides.items():
        where = f"search.families.{family}.space.{key}"
        if key not in space:
            known = ", ".join(space) or "none"
            raise ValueError(f"{where}: {family} searches no {key!r} (its dimensions: {known})")
        out[key] = space[key].narrowed(values, where)
    return out


def searched(space: Mapping[str, Dimension]) -> list[str]:
    """Keys of ``space`` that take more than one value."""
    return [k for k, d in space.items()
            if not (isinstance(d, Choice) and len(d.values) == 1)
            and not (isinstance(d, (Int, Float)) and d.low == d.high)]


def describe_space(space: Mapping[str, Dimension]) -> dict[str, dict]:
    """A JSON-able description of a space (Snakemake params, the study key, chosen.json).

    >>> describe_space({"factors": Int(16, 256, log=True)})
    {'factors': {'type': 'int', 'low': 16, 'high': 256, 'log': True}}
    """
    out = {}
    for key, dim in space.items():
        if isinstance(dim, Choice):
            out[key] = {"type": "choice", "values": list(dim.values)}
        else:
            out[key] = {"type": "int" if isinstance(dim, Int) else "float",
                        "low": dim.low, "high": dim.high, "log": dim.log}
    return out


def space_from_description(description: Mapping[str, Mapping[str, Any]]) -> dict[str, Dimension]:
    """The inverse of :func:`describe_space`."""
    out: dict[str, Dimension] = {}
    for key, d in description.items():
        if d["type"] == "choice":
            out[key] = Choice(tuple(d["values"]))
        elif d["type"] == "int":
            out[key] = Int(int(d["low"]), int(d["high"]), bool(d["log"]))
        else:
            out[key] = Float(float(d["low"]), float(d["high"]), bool(d["log"]))
    return out
