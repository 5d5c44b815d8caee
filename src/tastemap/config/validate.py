"""The public checks: the schema's violations and the cross-key rules, one line per key
(:func:`check`), or the complete config the workflow runs on (:func:`resolve`)."""
from __future__ import annotations

import copy

from tastemap.config.rules import RULES, derived_defaults
from tastemap.config.schema import KeyPath, _schema_errors, coerce_strings, key_name, load_schema


class ConfigError(ValueError):
    """A wrong config: the message has one line per problem, each naming the key."""


def _overlaps(a: KeyPath, b: KeyPath) -> bool:
    n = min(len(a), len(b))
    return tuple(map(str, a[:n])) == tuple(map(str, b[:n]))


def canonical(value):
    """``value`` with every mapping's keys sorted, recursively (a copy; lists keep their order).

    Two configs that differ only in key order give the same ``repr()``, which is what Snakemake
    compares to decide that params changed.

    >>> canonical({"b": 1, "a": {"d": [{"z": 0, "y": 1}], "c": 2}})
    {'a': {'c': 2, 'd': [{'y': 1, 'z': 0}]}, 'b': 1}
    """
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (type(k).__name__, str(k)))
        return {k: canonical(value[k]) for k in keys}
    if isinstance(value, (list, tuple)):
        return type(value)(canonical(v) for v in value)
    return value


def _resolve(config, schema: dict) -> tuple[dict, list[tuple[KeyPath, str]]]:
    if not isinstance(config, dict):
        return {}, [((), f"must be a mapping of keys to values, not {type(config).__name__}")]
    full = coerce_strings(copy.deepcopy(config), schema)
    problems = _schema_errors(full, schema)
    refused = [path for path, _ in problems]
    for keys, rule in RULES:
        if not any(_overlaps(k, r) for k in keys for r in refused):
            problems += rule(full)
    if not problems:
        derived_defaults(full)
    return canonical(full), problems


def messages(problems: list[tuple[KeyPath, str]]) -> list[str]:
    """One ``key: message`` line per key (two problems of one key joined by ``; ``), sorted.

    >>> messages([(("topics", "k"), "b"), (("seeds", 0), "c"), (("topics", "k"), "a")])
    ['seeds[0]: c', 'topics.k: a; b']
    """
    by_key: dict[str, list[str]] = {}
    for path, msg in sorted(problems, key=lambda p: (tuple(map(str, p[0])), p[1])):
        by_key.setdefault(key_name(path), []).append(msg)
    return [f"{key}: {'; '.join(msgs)}" for key, msgs in by_key.items()]


def check(config: dict, schema: dict | None = None) -> list[str]:
    """Every problem of ``config`` as one line naming the key, sorted by key; empty when valid.

    ``config`` is not modified. ``schema`` defaults to the workflow's (:func:`load_schema`).

    >>> for line in check({"split": {"test_fraction": 1.5}, "prepare": {"min_track_listener": 3}}):
    ...     print(line)
    prepare.min_track_listener: unknown key (did you mean prepare.min_track_listeners?)
    split.test_fraction: 1.5 is not below 1
    >>> check({"seeds": ["1", "2"]})  # as --config seeds=[1,2] gives them
    []
    """
    return messages(_resolve(config, schema or load_schema())[1])


def resolve(config: dict, schema: dict | None = None) -> dict:
    """The complete config the workflow runs on: ``--config`` strings converted to the schema's
    types, defaults filled in, keys sorted (:func:`canonical`). ``config`` is not modified.

    Raises :class:`ConfigError` listing every problem (:func:`check`), one line each.

    >>> full = resolve({"seeds": ["3"]})
    >>> full["seeds"], full["split"]["test_fraction"], list(full)[:3]
    ([3], 0.2, ['dataset', 'entities', 'evaluate'])
    """
    full, problems = _resolve(config, schema or load_schema())
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(messages(problems)))
    return full
