"""Hyper-parameters, declared once, on the model class.

A family declares each hyper-parameter in its ``hyperparameters`` class attribute (name ->
:class:`Param`: what it means, its valid range or values, whether a config list sweeps it and
with which prefix). Its **default** and its **type** are the constructor's: the default value
and the annotation of the ``__init__`` argument of that name (``int``, ``float``, ``str``,
``bool``, or one of them ``| None``). Nothing else states them:

* :mod:`tastemap.models.schema` generates the config schema's section of every family
  (``models.<name>`` in ``src/tastemap/schemas/config.schema.yaml``) from these declarations, and a
  test checks that the committed schema is the generated one;
* ``sweep_prefixes`` (which keys a list sweeps, and the variant name's prefix of each, in
  declaration order) is derived from them when the class is created.

``random_state`` and ``num_threads`` (:data:`RUNTIME`) are set by the workflow (the seed, the
rule's threads), not by the config: they are constructor arguments but not hyper-parameters.

This module is light (no numpy, torch or scikit-learn): the workflow reads the declarations
when it parses the Snakefile.

>>> class Toy:
...     hyperparameters = {"alpha": Param("Exponent.", sweep="a", minimum=0, grid=True)}
...     def __init__(self, alpha: float = 1.0, random_state: int = 0):
...         pass
>>> [(h.name, h.types, h.default, h.config_default) for h in declared(Toy).values()]
[('alpha', ('number',), 1.0, [1.0])]
"""
from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any

#: constructor arguments the workflow sets itself (seed, threads): never config keys
RUNTIME = ("random_state", "num_threads")

#: JSON schema type of each Python type a hyper-parameter may have (bool before int: a bool is
#: an int to Python)
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string",
              type(None): "null"}


@dataclass(frozen=True)
class Param:
    """One hyper-parameter of a family (its default and type: the constructor's).

    ``description``
        What it does, one paragraph (the config reference prints it).
    ``sweep``
        The prefix it gives a variant name when a config list sweeps it
        (``models.als.factors: [32, 64]`` -> ``f32``, ``f64``); ``None``: one value only.
    ``minimum``, ``maximum``, ``exclusive_minimum``, ``exclusive_maximum``
        The valid range of a number (JSON schema's keywords).
    ``choices``
        The valid values (strings).
    ``grid``
        The default of the config key as a list (a sweepable key only): ``True`` = a list of the
        constructor's default (the default variant is named by its value, ``f64``, not
        ``default``), a tuple = these values (the workflow fits each of them unless told
        otherwise); ``False`` = the constructor's default itself.
    """

    description: str
    sweep: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    choices: tuple | None = None
    grid: bool | tuple = False

    def __post_init__(self):
        if self.grid is not False and not self.sweep:
            raise TypeError("Param(grid=...) needs sweep: only a sweepable key takes a list")
        if isinstance(self.grid, tuple) and not self.grid:
            raise TypeError("Param(grid=()) gives no variant")

    def constraints(self) -> dict[str, Any]:
        """The JSON schema keywords of one value (range or values)."""
        out: dict[str, Any] = {}
        if self.choices is not None:
            out["enum"] = list(self.choices)
        for word, value in (("minimum", self.minimum), ("maximum", self.maximum),
                            ("exclusiveMinimum", self.exclusive_minimum),
                            ("exclusiveMaximum", self.exclusive_maximum)):
            if value is not None:
                out[word] = value
        return out


@dataclass(frozen=True)
class HyperParameter:
    """A declared :class:`Param` with what the constructor says of it: ``types`` (JSON schema
    types of one value, ``null`` last), ``default`` (the constructor's) and ``config_default``
    (the default of its config key, see :attr:`Param.grid`)."""

    name: str
    param: Param
    types: tuple[str, ...]
    default: Any

    @property
    def config_default(self) -> Any:
        grid = self.param.grid
        if grid is True:
            return [self.default]
        if grid:
            return list(grid)
        return self.default


def _json_types(annotation: Any, where: str) -> tuple[str, ...]:
    """JSON schema types of a constructor annotation (``int``, ``float | None``...)."""
    args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or \
        typing.get_origin(annotation) is typing.Union else (annotation,)
    out = []
    for arg in args:
        if arg not in JSON_TYPES:
            raise TypeError(f"{where}: annotate it as int, float, str or bool (or one of them "
                            f"| None), not {annotation!r}")
        out.append(JSON_TYPES[arg])
    return tuple(sorted(out, key=lambda t: t == "null"))


def check_declaration(cls: type) -> None:
    """Refuse a ``hyperparameters`` declaration that does not match the constructor: every key
    an argument with a default; runs when the class is created (:class:`Recommender`)."""
    args = inspect.signature(cls.__init__).parameters
    for name, param in cls.hyperparameters.items():
        where = f"{cls.__name__}.hyperparameters[{name!r}]"
        if not isinstance(param, Param):
            raise TypeError(f"{where}: declare a tastemap.models.params.Param")
        if name in RUNTIME:
            raise TypeError(f"{where}: {name} is set by the workflow, not a hyper-parameter")
        if name not in args or args[name].default is inspect.Parameter.empty:
            raise TypeError(f"{where}: {cls.__name__}.__init__ has no argument {name} with a "
                            "default (the default is written there, once)")
    prefixes = [p.sweep for p in cls.hyperparameters.values() if p.sweep]
    if len(set(prefixes)) != len(prefixes):
        raise TypeError(f"{cls.__name__}.hyperparameters: two keys sweep with one prefix "
                        f"({', '.join(prefixes)})")


def sweep_prefixes(cls: type) -> dict[str, str]:
    """The sweepable keys of ``cls.hyperparameters`` -> their prefixes, in declaration order."""
    return {name: p.sweep for name, p in cls.hyperparameters.items() if p.sweep}


def declared(cls: type) -> dict[str, HyperParameter]:
    """Every hyper-parameter of ``cls``, its type and default read from the constructor, in
    declaration order. Raises ``TypeError`` when the declaration and the constructor differ: a
    key without an argument, or an argument (other than :data:`RUNTIME`) without a
    declaration."""
    check_declaration(cls)
    args = inspect.signature(cls.__init__).parameters
    hints = typing.get_type_hints(cls.__init__)
    undeclared = [a for a in args if a != "self" and a not in RUNTIME
                  and a not in cls.hyperparameters
                  and args[a].kind not in (inspect.Parameter.VAR_POSITIONAL,
                                           inspect.Parameter.VAR_KEYWORD)]
    if undeclared:
        raise TypeError(f"{cls.__name__}.__init__: {', '.join(undeclared)} not declared in "
                        f"{cls.__name__}.hyperparameters")
    out = {}
    for name, param in cls.hyperparameters.items():
        where = f"{cls.__name__}.__init__({name})"
        if name not in hints:
            raise TypeError(f"{where}: annotate its type (int, float, str, bool)")
        out[name] = HyperParameter(name, param, _json_types(hints[name], where),
                                   args[name].default)
    return out
