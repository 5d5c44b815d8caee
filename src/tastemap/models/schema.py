"""The config schema's model families, generated from the model classes.

Each of tastemap's families (:data:`tastemap.models.registry.FAMILIES`) has a section
``models.<name>`` in ``src/tastemap/schemas/config.schema.yaml``: ``enabled``, ``entities`` and its
hyper-parameters, each with type, range, default and description. All of it comes from the class
(``description``, ``hyperparameters``, the constructor's defaults and annotations; see
:mod:`tastemap.models.params`), so no default is written twice. The sections sit in the schema
file between two marker lines (:data:`BEGIN`, :data:`END`) under ``models.properties``; the rest
of the file (``models.top_n``, ``models.maps``..., the other stages) is written by hand.

``python -m tastemap.models.schema`` rewrites the generated lines of the schema file (``--check``:
only say whether they are up to date, exit status 1 if not); a test checks that the committed
file is what it writes.

How a hyper-parameter becomes a schema entry:

>>> from tastemap.models.params import HyperParameter, Param
>>> entry = param_schema(HyperParameter("factors", Param("Latent size.", sweep="f", minimum=1,
...                                     grid=True), ("integer",), 64))
>>> print(_emit({"factors": entry}, 0))
factors:
  type: [integer, array]
  minimum: 1
  items: {type: integer, minimum: 1}
  minItems: 1
  uniqueItems: true
  default: [64]
  description: Latent size. A list sweeps (variant f<value>).
"""
from __future__ import annotations

import argparse
import textwrap
from pathlib import Path
from typing import Any

import yaml

from tastemap.models.params import HyperParameter, declared

#: the first and the last line of the generated part of the schema (inside ``models.properties``)
BEGIN = ("# ---- generated from the model classes by `python -m tastemap.models.schema`: "
         "edit the classes ----")
END = "# ---- end of the generated model families ----"
#: indentation of a family's key (``models.properties.<name>``) in the schema file
INDENT = 6
#: the width the generated lines wrap at
WIDTH = 100
#: mappings written on one line (``items: {type: integer, minimum: 1}``)
FLOW_KEYS = ("items", "if", "then")

ENABLED = "Fit this model."
ENTITIES = "Item kinds to fit on (only those also listed in the top-level entities)."


def _text(description: str) -> str:
    """A description as one paragraph (whitespace collapsed)."""
    return " ".join(description.split())


def param_schema(h: HyperParameter) -> dict[str, Any]:
    """The schema entry of one hyper-parameter: a value of its type and range; a sweepable
    one (``Param.sweep``) also a non-empty list of distinct such values."""
    p = h.param
    one = h.types[0] if len(h.types) == 1 else list(h.types)
    constraints = p.constraints()
    text = _text(p.description)
    out: dict[str, Any] = {}
    if p.sweep:
        out["type"] = [*h.types, "array"]
        if "enum" in constraints:  # an enum would refuse the list itself
            out["if"] = {"type": one}
            out["then"] = {"enum": constraints["enum"]}
        else:
            out.update(constraints)
        out["items"] = {"type": one, **constraints}
        out["minItems"] = 1
        out["uniqueItems"] = True
        text = f"{text if text.endswith('.') else text + '.'} A list sweeps (variant {p.sweep}<value>)."
    else:
        out["type"] = one
        out.update(constraints)
    out["default"] = h.config_default
    out["description"] = text
    return out


def family_schema(cls: type, entities: list[str]) -> dict[str, Any]:
    """The section ``models.<name>`` of a family: ``enabled``, ``entities`` (item kinds among
    ``entities``, the top-level key's values) and every declared hyper-parameter."""
    if not cls.description:
        raise TypeError(f"{cls.__name__}.description: say in a sentence what the family is")
    props: dict[str, Any] = {
        "enabled": {"type": "boolean", "default": True, "description": ENABLED},
        "entities": {"type": "array", "items": {"type": "string", "enum": list(entities)},
                     "uniqueItems": True, "default": list(entities), "description": ENTITIES},
    }
    for name, h in declared(cls).items():
        props[name] = param_schema(h)
    return {"type": "object", "description": _text(cls.description),
            "additionalProperties": False, "default": {}, "properties": props}


def families_schema(entities: list[str]) -> dict[str, dict]:
    """Every family's section, in :data:`~tastemap.models.registry.FAMILIES` order."""
    from tastemap.models import registry

    return {name: family_schema(cls, entities) for name, cls in registry.specs().items()}


# ---- YAML text ------------------------------------------------------------------------------


def _flow(value: Any) -> str:
    """A value as one line of YAML flow style (``[integer, array]``, ``0.0001``, ``'null'``)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False).strip()
    return text.removesuffix("...").strip()


def _string(pad: str, key: str, value: str) -> list[str]:
    """``key: value`` on one line when it fits unquoted, else a folded block (``>-``)."""
    line = f"{pad}{key}: {_flow(value)}"
    if _flow(value) == value and len(line) <= WIDTH:
        return [line]
    body = textwrap.wrap(value, WIDTH - len(pad) - 2, break_long_words=False,
                         break_on_hyphens=False)
    return [f"{pad}{key}: >-", *(f"{pad}  {chunk}" for chunk in body)]


def _emit(mapping: dict[str, Any], indent: int) -> str:
    """YAML block text of a mapping (keys in order, lists and :data:`FLOW_KEYS` on one line)."""
    pad, lines = " " * indent, []
    for key, value in mapping.items():
        if isinstance(value, dict) and value and key not in FLOW_KEYS:
            lines += [f"{pad}{key}:", _emit(value, indent + 2)]
        elif isinstance(value, str):
            lines += _string(pad, key, value)
        else:
            lines.append(f"{pad}{key}: {_flow(value)}")
    return "\n".join(lines)


def render(families: dict[str, dict]) -> str:
    """The generated lines (markers included, no final newline)."""
    pad = " " * INDENT
    body = _emit(families, INDENT)
    if yaml.safe_load(textwrap.dedent(body)) != families:  # pragma: no cover (a bug here)
        raise AssertionError("the generated YAML does not read back as the schema")
    return f"{pad}{BEGIN}\n{body}\n{pad}{END}"


def update(text: str) -> str:
    """The schema file's ``text`` with the generated model families rewritten from the classes
    (the entities they allow: the top-level ``entities`` key's values in the same file)."""
    lines = text.split("\n")
    marks = [i for i, line in enumerate(lines) if line.strip() in (BEGIN, END)]
    if len(marks) != 2 or lines[marks[0]].strip() != BEGIN or \
            any(len(lines[i]) - len(lines[i].lstrip()) != INDENT for i in marks):
        raise ValueError(f"the schema needs the lines {BEGIN!r} and {END!r}, in this order, "
                         f"indented by {INDENT} under models.properties")
    entities = yaml.safe_load(text)["properties"]["entities"]["items"]["enum"]
    new = render(families_schema(entities))
    return "\n".join([*lines[:marks[0]], new, *lines[marks[1] + 1:]])


def main(argv: list[str] | None = None) -> int:
    """Rewrite the model families of the config schema from the classes (``--check``: report
    only; exit status 1 when the file is out of date)."""
    from tastemap.core.resources import SCHEMA_PATH

    parser = argparse.ArgumentParser(prog="python -m tastemap.models.schema",
                                     description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if out of date")
    parser.add_argument("--schema", type=Path, default=SCHEMA_PATH, help="the schema file")
    args = parser.parse_args(argv)
    text = args.schema.read_text(encoding="utf-8")
    new = update(text)
    if new == text:
        print(f"{args.schema}: the model families are up to date")
        return 0
    if args.check:
        print(f"{args.schema}: the model families are out of date; run "
              "`python -m tastemap.models.schema`")
        return 1
    args.schema.write_text(new, encoding="utf-8")
    print(f"{args.schema}: model families rewritten from the classes")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
