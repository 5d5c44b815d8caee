"""Readable config errors: every JSON-schema violation as one line naming the key.

The workflow validates ``config/config.yaml`` against ``workflow/schemas/config.schema.yaml``
before any job runs. jsonschema's own report prints the whole sub-schema; users need the key,
the value and what is wrong, e.g. ``split.test_fraction: 1.5 is not below 1``.
"""
from __future__ import annotations

import jsonschema


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
    as string stay strings; anything that does not convert is left for validation to report.

    >>> schema = {"type": "object", "properties": {"seeds": {"type": "array", "items": {"type": "integer"}}}}
    >>> coerce_strings({"seeds": ["1", "2"]}, schema)
    {'seeds': [1, 2]}
    """
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    if isinstance(node, dict):
        props = schema.get("properties", {})
        for key, value in node.items():
            if key in props:
                node[key] = coerce_strings(value, props[key])
        return node
    if isinstance(node, list):
        items = schema.get("items", {})
        return [coerce_strings(v, items) for v in node]
    if isinstance(node, str) and types and "string" not in types:
        return _convert(node, types)
    return node


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def config_errors(config: dict, schema: dict) -> list[str]:
    """One message per schema violation, sorted by key; empty when ``config`` is valid.

    >>> schema = {"type": "object", "additionalProperties": False,
    ...           "properties": {"split": {"type": "object", "additionalProperties": False,
    ...               "properties": {"test_fraction": {"type": "number", "exclusiveMaximum": 1}}}}}
    >>> config_errors({"split": {"test_fraction": 1.5, "scheme2": "x"}}, schema)
    ['split.test_fraction: 1.5 is not below 1 (exclusiveMaximum 1)', "split: unknown key 'scheme2' (allowed: test_fraction)"]
    """
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for err in validator.iter_errors(config):
        key = _key(err.absolute_path)
        if err.validator == "additionalProperties":
            allowed = sorted(err.schema.get("properties", {}))
            extra = sorted(set(err.instance) - set(allowed))
            for name in extra:
                messages.append(f"{key + ': ' if err.absolute_path else ''}unknown key {name!r}"
                                + ("" if len(allowed) > 12 or not allowed else f" (allowed: {', '.join(allowed)})"))
            continue
        if err.validator == "exclusiveMaximum":
            msg = f"{err.instance!r} is not below {err.validator_value} (exclusiveMaximum {err.validator_value})"
        elif err.validator == "exclusiveMinimum":
            msg = f"{err.instance!r} is not above {err.validator_value} (exclusiveMinimum {err.validator_value})"
        else:
            msg = err.message
        messages.append(f"{key}: {msg}")
    return sorted(messages)
