"""The config's JSON schema: loading it, key names, ``--config`` strings converted to the
schema's types, defaults filled in, and the schema's violations as (key path, message) pairs.
"""
from __future__ import annotations

import copy
import difflib
import functools
import os

import jsonschema
import yaml

from tastemap.core.resources import SCHEMA_PATH

KeyPath = tuple  # a key path: ("split", "test_fraction") or ("seeds", 0)


@functools.lru_cache(maxsize=4)
def _load_schema(path: str) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def load_schema(path: str | os.PathLike | None = None) -> dict:
    """The config schema (a dict, shared: do not modify); ``path``: :data:`SCHEMA_PATH`."""
    return _load_schema(str(path or SCHEMA_PATH))


def key_name(path) -> str:
    """Dotted key of a path into the config; list positions in brackets.

    >>> key_name(("split", "test_fraction")), key_name(("seeds", 0)), key_name(())
    ('split.test_fraction', 'seeds[0]', 'config')
    """
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "config"


# ---- --config strings -> schema types -------------------------------------------------------


def _convert(value: str, types: list[str]):
    if "integer" in types:
        try:
            return int(value)
        except ValueError:
            pass
    if "number" in types:
        try:
            return float(value)
        except ValueError:
            pass
    if "boolean" in types and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if "null" in types and value.lower() in ("null", "none", "~"):
        return None
    return value


def coerce_strings(node, schema: dict):
    """Turn strings into the numbers/booleans the schema asks for, recursively; returns the node.

    ``snakemake --config seeds=[1,2]`` parses nested values with YAML's BaseLoader, so every
    scalar inside a list or mapping arrives as a string (``['1', '2']``). Values the schema types
    as string stay strings; anything that does not convert is left for the schema to report.
    Mappings are changed in place.

    >>> schema = {"type": "object",
    ...           "properties": {"seeds": {"type": "array", "items": {"type": "integer"}}}}
    >>> coerce_strings({"seeds": ["1", "2"]}, schema)
    {'seeds': [1, 2]}
    """
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if isinstance(node, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, value in node.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                node[key] = coerce_strings(value, sub)
        return node
    if isinstance(node, list):
        items = schema.get("items", {})
        return [coerce_strings(v, items) for v in node]
    if isinstance(node, str) and types and "string" not in types:
        return _convert(node, types)
    return node


# ---- the schema: validation and defaults ----------------------------------------------------


def _set_defaults(properties_validator):
    """jsonschema's ``properties`` check that first fills in missing defaults (a deep copy).

    The recipe of jsonschema's FAQ, as Snakemake's ``validate(set_default=True)`` uses it: a
    missing key gets its default before the value is validated, so the defaults inside a
    defaulted ``{}`` section are filled in too.
    """

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from properties_validator(validator, props, instance, schema)

    return properties


_DefaultingValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    {"properties": _set_defaults(jsonschema.Draft202012Validator.VALIDATORS["properties"])},
)


def fill_defaults(config: dict, schema: dict | None = None) -> dict:
    """Fill in the schema's defaults, nested ones too, in place (as Snakemake's
    ``validate(config, schema, set_default=True)`` does); returns ``config``.

    >>> schema = {"type": "object", "properties": {"split": {"type": "object", "default": {},
    ...           "properties": {"scheme": {"type": "string", "default": "holdout"}}}}}
    >>> fill_defaults({}, schema)
    {'split': {'scheme': 'holdout'}}
    """
    for _ in _DefaultingValidator(schema or load_schema()).iter_errors(config):
        pass
    return config


def _unknown_key(err) -> list[tuple[KeyPath, str]]:
    allowed = sorted(err.schema.get("properties", {}))
    out = []
    for name in sorted(set(err.instance) - set(allowed), key=str):
        close = difflib.get_close_matches(str(name), allowed, n=1)
        if close:
            hint = f" (did you mean {key_name((*err.absolute_path, close[0]))}?)"
        elif allowed and len(allowed) <= 16:
            hint = f" (allowed: {', '.join(allowed)})"
        else:
            hint = ""
        out.append(((*err.absolute_path, name), f"unknown key{hint}"))
    return out


def _schema_errors(config: dict, schema: dict) -> list[tuple[KeyPath, str]]:
    """(key path, message) of every schema violation; fills in defaults on the way."""
    out = []
    for err in _DefaultingValidator(schema).iter_errors(config):
        path = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            out += _unknown_key(err)
        elif err.validator == "exclusiveMaximum":
            out.append((path, f"{err.instance!r} is not below {err.validator_value}"))
        elif err.validator == "exclusiveMinimum":
            out.append((path, f"{err.instance!r} is not above {err.validator_value}"))
        else:
            out.append((path, err.message))
    return out
