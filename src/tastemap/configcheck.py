"""Readable config errors: every JSON-schema violation as one line naming the key.

The workflow validates ``config/config.yaml`` against ``workflow/schemas/config.schema.yaml``
before any job runs. jsonschema's own report prints the whole sub-schema; users need the key,
the value and what is wrong, e.g. ``split.test_fraction: 1.5 is not below 1``.
"""
from __future__ import annotations

import jsonschema


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
