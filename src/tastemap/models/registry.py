"""Which model families exist and what each one declares: light enough for every Snakemake job.

Each family is one ``Recommender`` subclass that states what it is in class attributes (see
``Recommender`` in :mod:`tastemap.models.base`): ``sweep_prefixes`` (the hyper-parameters a
config grid may sweep and how each names a variant), ``folds_in``, ``has_factors``,
``has_loss_curve``, ``has_factor_sweep``, ``predicts_ratings``, ``explains``, ``similar_by``,
``scoring`` and ``multithreaded``. The workflow builds its tables (variants, which runs get new
listeners, loss curves, latent-size sweeps, RMSE, maps) from these declarations when it parses
the Snakefile, in every job: importing this module and reading every family's declarations
imports neither PyTorch, implicit nor scikit-learn (model modules import those inside the
functions that fit or score).

A family outside the package is one module that registers its class (``@register("toy")``) and
one config section naming it: ``models.toy: {module: toymodel, ...}``; the module is imported
from ``PYTHONPATH`` or the working directory (see ``docs/adding_a_model.md``). Files are never
trusted to name code: :meth:`Recommender.load` imports only the package's own families, an
outside family must have been imported by the caller.

>>> sorted(specs())[:4]
['als', 'bpr', 'ease', 'item2vec']
>>> get("als").sweep_prefixes["factors"]
'f'
"""
from __future__ import annotations

import importlib
import itertools
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tastemap.core.plugins import import_outside

if TYPE_CHECKING:  # pragma: no cover
    from tastemap.models.base import Recommender

#: the package's families: registered name -> "module:Class"
FAMILIES: dict[str, str] = {
    # classic families (models stage)
    "als": "tastemap.models.als:ALS",
    "bpr": "tastemap.models.bpr:BPR",
    "itemknn": "tastemap.models.knn:ItemKNN",
    "userknn": "tastemap.models.knn:UserKNN",
    "popularity": "tastemap.models.popularity:Popularity",
    "ease": "tastemap.models.ease:EASE",
    # strong simple baselines (Ferrari Dacrema et al. 2019)
    "p3alpha": "tastemap.models.graph:P3Alpha",
    "rp3beta": "tastemap.models.graph:RP3Beta",
    "slim": "tastemap.models.slim:SLIM",
    "puresvd": "tastemap.models.puresvd:PureSVD",
    # LDA as a recommender
    "lda": "tastemap.models.lda:LDA",
    # PyTorch families
    "mf": "tastemap.models.mf:BiasedMF",
    "item2vec": "tastemap.models.item2vec:Item2Vec",
    "sgns": "tastemap.models.item2vec:SkipGramNS",
    "twotower": "tastemap.models.twotower:TwoTower",
}

#: the one variant of a family whose hyper-parameters the validation search chooses
TUNED = "tuned"

#: keys of a ``models.<name>`` config section that are not hyper-parameters
BOOKKEEPING = ("enabled", "entities", "module")

#: the declarations, in the order of the capability table (docs/models.md)
CAPABILITIES = ("folds_in", "has_factors", "has_loss_curve", "has_factor_sweep",
                "predicts_ratings", "explains", "similar_by", "scoring", "multithreaded")

#: name -> class, filled by ``@register`` when a family's module is imported
MODELS: dict[str, type[Recommender]] = {}

_NAME = re.compile(r"[a-z0-9]+")
_SAFE = re.compile(r"[A-Za-z0-9.]+")


def register(name: str):
    """Class decorator that makes a model available to the workflow under ``name``."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"model name {name!r}: use lowercase letters and digits only")

    def deco(cls):
        cls.name = name
        MODELS[name] = cls
        return cls

    return deco


def get(name: str, module: str | None = None) -> type[Recommender]:
    """The class of family ``name``: one of :data:`FAMILIES`, or registered by ``module`` (a
    family outside the package, see the module docstring)."""
    if module is not None:
        if name in FAMILIES:
            raise ValueError(f"models.{name}.module: {name} is one of tastemap's own families; "
                             "give an outside family another name")
        if name not in MODELS:
            import_outside(module, f"models.{name}.module", "tastemap.models.registry.FAMILIES")
            if name not in MODELS:
                raise ValueError(f"models.{name}.module: {module} registers no model named "
                                 f"{name!r} (registered: {', '.join(sorted(MODELS))})")
        return MODELS[name]
    if name not in FAMILIES:
        if name in MODELS:  # an outside family its caller imported
            return MODELS[name]
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(FAMILIES))} (a family "
                       "outside tastemap needs `module:` in its config section)")
    if name not in MODELS:
        importlib.import_module(FAMILIES[name].split(":")[0])
    cls = MODELS[name]
    if f"{cls.__module__}:{cls.__qualname__}" != FAMILIES[name]:
        raise RuntimeError(f"model {name!r} is registered by {cls.__module__}.{cls.__qualname__}, "
                           f"FAMILIES says {FAMILIES[name]}")
    return cls


def specs() -> dict[str, type[Recommender]]:
    """Every family of the package: name -> class (imports their light modules)."""
    return {name: get(name) for name in FAMILIES}


def make(name: str, module: str | None = None, **params: Any) -> Recommender:
    """Build the model registered as ``name`` with hyper-parameters ``params``."""
    return get(name, module)(**params)


def config_models(models: Mapping[str, Any]) -> dict[str, dict]:
    """The model sections of the config's ``models`` mapping: name -> section, in config order
    (the package's families, and sections naming an outside ``module``); other keys (``top_n``,
    ``new_users``, ``maps``...) are not models."""
    return {name: dict(section) for name, section in models.items()
            if isinstance(section, Mapping) and (name in FAMILIES or "module" in section)}


def enabled(section: Mapping[str, Any]) -> bool:
    """Whether a model's config section asks for fits (``enabled``, true unless said)."""
    return bool(section.get("enabled", True))


# ---- variants: a grid of hyper-parameters -> named runs -------------------------------------


def format_value(value: Any, key: str) -> str:
    """A swept value as it appears in a variant name: compact and safe in a path.

    ``key`` names the config key in errors.

    >>> [format_value(v, "k") for v in (64, 0.001, 1e-05, 10000.0, 500.0, 2.5e20, "bm25", True)]
    ['64', '0.001', '1e-05', '10000', '500', '2.5e20', 'bm25', 'true']
    >>> format_value("log 2", "models.als.confidence")
    Traceback (most recent call last):
    ...
    ValueError: models.als.confidence: 'log 2' cannot name a variant (letters, digits and . only)
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{key}: {value!r} cannot name a variant")
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value).replace("e+", "e")
    if isinstance(value, str) and _SAFE.fullmatch(value):
        return value
    raise ValueError(f"{key}: {value!r} cannot name a variant (letters, digits and . only)")


def variants(name: str, section: Mapping[str, Any]) -> dict[str, dict]:
    """Variant name -> full hyper-parameters, from a model's config section ``models.<name>``.

    Bookkeeping keys (``enabled``, ``entities``, ``module``) are dropped. Any key of the
    family's ``sweep_prefixes`` may hold a list: the variants are the product of the
    list-valued keys, each named by prefix + value of every list-valued key, in
    ``sweep_prefixes`` order, joined with ``_``; a one-element list still names the variant;
    without a list the only variant is ``default``.

    >>> list(variants("als", {"factors": [32, 64], "regularization": [0.01, 0.1]}))
    ['f32_r0.01', 'f32_r0.1', 'f64_r0.01', 'f64_r0.1']
    >>> variants("als", {"enabled": True, "factors": [64], "alpha": 2.0})
    {'f64': {'factors': 64, 'alpha': 2.0}}
    >>> variants("popularity", {"by": "users"})
    {'default': {'by': 'users'}}
    >>> variants("popularity", {"by": ["users", "plays"], "top": [1, 2]})
    Traceback (most recent call last):
    ...
    ValueError: models.popularity.top: a list sweeps only by, not top
    """
    cls = get(name, section.get("module"))
    params = {k: v for k, v in section.items() if k not in BOOKKEEPING}
    prefixes = cls.sweep_prefixes
    for key, value in params.items():
        if isinstance(value, (list, tuple)) and key not in prefixes:
            allowed = ", ".join(prefixes) or "no key"
            raise ValueError(f"models.{name}.{key}: a list sweeps only {allowed}, not {key}")
    swept = [k for k in prefixes if isinstance(params.get(k), (list, tuple))]
    for key in swept:
        if not params[key]:
            raise ValueError(f"models.{name}.{key}: an empty list gives no variant")
    if not swept:
        return {"default": params}
    out: dict[str, dict] = {}
    for values in itertools.product(*(params[k] for k in swept)):
        label = "_".join(prefixes[k] + format_value(v, f"models.{name}.{k}")
                         for k, v in zip(swept, values))
        if label in out:
            raise ValueError(f"models.{name}: two values of {', '.join(swept)} both name variant "
                             f"{label!r}")
        out[label] = {**params, **dict(zip(swept, values))}
    return out


def swept_keys(name: str, section: Mapping[str, Any]) -> list[str]:
    """Keys of ``models.<name>`` that take more than one value, in ``sweep_prefixes`` order.

    >>> swept_keys("als", {"factors": [32, 64], "regularization": [0.1], "alpha": 2.0})
    ['factors']
    """
    cls = get(name, section.get("module"))
    return [k for k in cls.sweep_prefixes
            if isinstance(section.get(k), (list, tuple)) and len(section[k]) > 1]


# ---- the validation search (tastemap.pipeline.search) ------------------------------------------------


def search_space(name: str, section: Mapping[str, Any], search: Mapping[str, Any],
                 listed: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """The space family ``name``'s validation search covers (its declared ``search_space``
    narrowed by ``search.families.<name>.space``), or ``None`` when it is not searched (see
    :func:`search_plan`)."""
    from tastemap.models.space import narrowed, searched

    if not search.get("enabled", True):
        return None
    cls = get(name, section.get("module"))
    if any(isinstance(v, (list, tuple)) for k, v in (listed or {}).items()
           if k in cls.sweep_prefixes):
        return None
    own = dict(search.get("families", {}).get(name, {}))
    space = narrowed(cls.search_space, own.get("space", {}), name)
    return space if searched(space) else None


def search_plan(name: str, section: Mapping[str, Any], search: Mapping[str, Any],
                listed: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """What family ``name``'s validation search covers: ``{"space": {key: dimension},
    "trials": n, "base": fixed hyper-parameters}``, or ``None`` when the family is not searched:
    ``search.enabled`` off, nothing left to choose, or a list in ``listed`` (the family's section
    as the user wrote it, before the schema's defaults: an explicit sweep or a pinned value).
    ``section``: the complete section (defaults filled in), the source of the fixed values.

    >>> off = {"enabled": True, "trials": 20, "families": {}}
    >>> plan = search_plan("ease", {"l2": [500], "weighting": "binary", "max_items": 9}, off)
    >>> sorted(plan["space"]), plan["trials"], plan["base"]
    (['l2', 'weighting'], 20, {'max_items': 9})
    >>> search_plan("ease", {"l2": [500]}, off, listed={"l2": [100, 500]})
    >>> search_plan("popularity", {}, off)
    >>> search_plan("ease", {}, {"enabled": True, "trials": 20,
    ...             "families": {"ease": {"trials": 5, "space": {"weighting": ["log"]}}}})["trials"]
    5
    """
    space = search_space(name, section, search, listed)
    if space is None:
        return None
    own = dict(search.get("families", {}).get(name, {}))
    base = {}
    for key, value in section.items():
        if key in BOOKKEEPING or key in space:
            continue
        if isinstance(value, (list, tuple)):
            if len(value) != 1:
                raise ValueError(f"models.{name}.{key}: {value!r} is a sweep of a key the search "
                                 "does not choose; give one value")
            value = value[0]
        base[key] = value
    return {"space": space, "trials": int(own.get("trials", search["trials"])), "base": base}


# ---- the capability table (docs/models.md) ---------------------------------------------------


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "-"
    if value is None:
        return "-"
    return str(value)


def capabilities_markdown() -> str:
    """The capability table of every family as Markdown (docs/models.md holds this text; a test
    checks it). ``python -m tastemap.models.registry`` prints it."""
    head = ["family", "class", "sweepable (prefix)", *CAPABILITIES]
    lines = ["| " + " | ".join(f"`{h}`" if h in CAPABILITIES else h for h in head) + " |",
             "|" + "---|" * len(head)]
    for name, cls in specs().items():
        sweeps = ", ".join(f"{k} (`{p}`)" for k, p in cls.sweep_prefixes.items()) or "-"
        cells = [name, f"`{cls.__qualname__}`", sweeps,
                 *(_cell(getattr(cls, c)) for c in CAPABILITIES)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def search_spaces_markdown() -> str:
    """What each family's validation search chooses, and over which ranges, as Markdown
    (docs/models.md holds this text; a test checks it)."""
    lines = ["| family | searched hyper-parameters (range) |", "|---|---|"]
    for name, cls in specs().items():
        dims = "; ".join(f"{k}: {d.describe()}" for k, d in cls.search_space.items())
        lines.append(f"| {name} | {dims or '- (nothing to tune)'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    # `python -m` runs a second copy of this module: ask the one the families register with
    from tastemap.models import registry

    print(registry.capabilities_markdown(), end="")
    print()
    print(registry.search_spaces_markdown(), end="")
