"""``config/README.md``, generated from the schema: ``python -m tastemap.config readme >
config/README.md`` (a test compares the file with what the command writes)."""
from __future__ import annotations

import re

import yaml

from tastemap.config.schema import SCHEMA_PATH, load_schema

README_COMMAND = "python -m tastemap.config readme > config/README.md"


def _inline(value) -> str:
    """A default as one line of YAML flow style.

    >>> _inline([1, 2]), _inline(None), _inline(","), _inline({"user": "user"}), _inline("log")
    ('[1, 2]', 'null', '","', '{user: user}', 'log')
    """
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False).strip()
    text = text.removesuffix("...").strip()
    return '"' + value + '"' if isinstance(value, str) and text.startswith("'") else text


def _allowed(schema: dict) -> str:
    """What a value may be, in a few words.

    >>> _allowed({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1})
    'number, > 0, < 1'
    >>> _allowed({"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "minItems": 1})
    'list of a, b; at least 1'
    """
    if "enum" in schema:
        return ", ".join(map(str, schema["enum"]))
    types = schema.get("type", "any")
    types = [types] if isinstance(types, str) else list(types)
    if "array" in types:
        out = [f"list of {_allowed(schema.get('items', {}))}"]
    elif "object" in types:
        out = ["mapping"]
    else:
        out = [" or ".join(types).replace("integer", "int").replace("boolean", "true/false")]
    for word, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="),
                       ("exclusiveMaximum", "<")):
        if word in schema:
            out.append(f"{sign} {schema[word]}")
    if "minItems" in schema:
        exact = schema.get("maxItems") == schema["minItems"]
        out.append(f"{'exactly' if exact else 'at least'} {schema['minItems']}")
    return "; ".join([", ".join(out[:1] + [o for o in out[1:] if not o[0].isalpha()])]
                     + [o for o in out[1:] if o[0].isalpha()])


def _md(text: str) -> str:
    """Markdown of a description: ``<`` outside code escaped, so that ``results/<dataset>/``
    is not taken for an HTML tag.

    >>> print(_md("results/<dataset>/ or `<a>`, x < 1"))
    results/\\<dataset>/ or `<a>`, x < 1
    """
    parts = text.split("`")
    return "`".join(p if i % 2 else re.sub(r"<(?=[A-Za-z/!?])", r"\\<", p)
                    for i, p in enumerate(parts))


def _cell(text: str) -> str:
    return _md(" ".join(str(text).split())).replace("|", "\\|")


def _rows(props: dict, prefix: str) -> list[str]:
    """Table rows of the leaves under ``props`` (nested objects flattened into dotted keys)."""
    out = []
    for name, sub in props.items():
        key = f"{prefix}{name}"
        if sub.get("type") == "object" and "properties" in sub and "description" not in sub:
            out += _rows(sub["properties"], f"{key}.")
            continue
        if "description" not in sub:
            raise ValueError(f"{SCHEMA_PATH.name}: {key} has no description")
        default = f"`{_inline(sub['default'])}`" if "default" in sub else "(required)"
        cells = [f"`{key}`", default, _cell(_allowed(sub)), _cell(sub["description"])]
        out.append(f"| {' | '.join(cells)} |")
    return out


def _table(props: dict, prefix: str) -> list[str]:
    rows = _rows(props, prefix)
    return ["| key | default | allowed | meaning |", "|---|---|---|---|", *rows, ""] if rows else []


def _section(name: str, schema: dict, level: int) -> list[str]:
    """A heading, the description (markdown), the table of leaf keys; in a top-level section,
    one sub-section per mapping-valued key with properties (deeper mappings are table rows)."""
    props = schema.get("properties", {})
    nested = {k: s for k, s in props.items() if level == 2 and s.get("type") == "object"
              and "properties" in s}
    leaves = {k: s for k, s in props.items() if k not in nested}
    out = [f"{'#' * level} {name}", "", _md(schema["description"].strip()), ""]
    out += _table(leaves, f"{name}.")
    for key, sub in nested.items():
        out += _section(f"{name}.{key}", sub, level + 1)
    return out


def readme(schema: dict | None = None) -> str:
    """``config/README.md``: the schema's description as the introduction, then a section per
    top-level mapping with a table of every key (default, allowed values, meaning)."""
    schema = schema or load_schema()
    props = schema["properties"]
    out = ["# Configuration", "",
           f"<!-- Generated from src/tastemap/schemas/config.schema.yaml by `{README_COMMAND}`; "
           "edit the schema, not this file. -->", "", _md(schema["description"].strip()), "",
           "## Top level", ""]
    out += _table({k: s for k, s in props.items() if s.get("type") != "object"}, "")
    for key, sub in props.items():
        if sub.get("type") == "object":
            out += _section(key, sub, 2)
    return "\n".join(out).rstrip() + "\n"
