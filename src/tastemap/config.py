"""The workflow's config, checked by the library: every rule in one place, one message per key.

``check(config)`` returns one line per problem, each naming the key
(``split.test_fraction: 1.5 is not below 1``); ``resolve(config)`` returns the complete config
the workflow runs on (``--config`` strings converted, the schema's defaults filled in, every
mapping's keys sorted) or raises :class:`ConfigError` with all the lines. The rules:

- the JSON schema ``workflow/schemas/config.schema.yaml`` (types, ranges, unknown keys);
- cross-key rules the schema cannot express (:data:`RULES`): song entity vs formats without
  track names, input files that must exist, model sizes vs the simulated catalogue, evaluation
  metrics vs ``evaluate.ks``.

``config/README.md`` is generated from the schema: ``python -m tastemap.config readme >
config/README.md``. Like the rest of the library, this module never imports snakemake.

Why sorted keys: Snakemake decides that a job's params changed by comparing ``repr()`` of each
param value with the one recorded at the last run, and a dict's repr follows its insertion
order; so the same config written with its keys in another order would rerun jobs. After
``resolve`` every mapping derived from the config has one order.
"""
from __future__ import annotations

import copy
import difflib
import functools
import os
import re
from collections.abc import Callable
from pathlib import Path

import jsonschema
import yaml

#: the schema of the workflow's config, in the repository next to the rules
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
#: model hyper-parameters that count items or dimensions: they must stay below the catalogue size
SIZE_KEYS = ("factors", "k", "neighbours")
#: input formats without track names (no song entity)
TRACKLESS_FORMATS = ("lastfm-360k", "hetrec-2k")

KeyPath = tuple  # a key path: ("split", "test_fraction") or ("seeds", 0)


class ConfigError(ValueError):
    """A wrong config: the message has one line per problem, each naming the key."""


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


# ---- cross-key rules ------------------------------------------------------------------------
#: (keys read, rule): each rule takes the config with defaults filled in and returns
#: (key path, message) pairs; it is skipped when the schema already refused a key it reads.
RULES: list[tuple[tuple[KeyPath, ...], Callable[[dict], list[tuple[KeyPath, str]]]]] = []


def _rule(*keys: str):
    def register(func):
        RULES.append((tuple(tuple(k.split(".")) for k in keys), func))
        return func

    return register


@_rule("input.format", "input.tracks_path", "simulate.layout", "entities")
def songs_need_tracks(config: dict) -> list[tuple[KeyPath, str]]:
    """The song entity needs track names, which some formats do not have.

    >>> [(path, msg)] = songs_need_tracks({"input": {"format": "hetrec-2k", "tracks_path": None},
    ...                                    "entities": ["artist", "song"]})
    >>> path
    ('entities',)
    >>> msg
    "'song' needs track names, which input.format='hetrec-2k' does not have; set entities: [artist]"
    """
    fmt = config["input"]["format"]
    trackless = (
        fmt in TRACKLESS_FORMATS
        or (fmt == "simulate" and config["simulate"]["layout"] == "lastfm-360k")
        or (fmt == "msd-triplets" and not config["input"]["tracks_path"])
    )
    if not trackless or "song" not in config["entities"]:
        return []
    why = {"simulate": " (simulate.layout=lastfm-360k)",
           "msd-triplets": " without input.tracks_path"}.get(fmt, "")
    return [(("entities",), f"'song' needs track names, which input.format={fmt!r}{why} does "
                            "not have; set entities: [artist]")]


@_rule("input.format", "input.path", "input.tracks_path", "input.download.url", "split.scheme")
def input_files(config: dict) -> list[tuple[KeyPath, str]]:
    """Real data needs ``input.path``, existing unless a download URL makes it; the optional
    ``input.tracks_path`` must exist. Relative paths are relative to the working directory.

    >>> input_files({"input": {"format": "lastfm-1k", "path": None, "tracks_path": None,
    ...                        "download": {"url": None}}, "split": {"scheme": "holdout"}})
    [(('input', 'path'), "required for input.format='lastfm-1k'")]
    """
    inp = config["input"]
    if inp["format"] == "simulate" or config["split"]["scheme"] == "given":
        return []  # a given split's files are checked by given_split_files
    out = []
    if not inp["path"]:
        out.append((("input", "path"), f"required for input.format={inp['format']!r}"))
    elif not os.path.exists(inp["path"]) and not inp["download"]["url"]:
        out.append((("input", "path"), f"file not found: {inp['path']}"))
    if inp["tracks_path"] and not os.path.exists(inp["tracks_path"]):
        out.append((("input", "tracks_path"), f"file not found: {inp['tracks_path']}"))
    return out


@_rule("split.scheme", "split.given", "input.format", "entities", "prepare")
def given_split_files(config: dict) -> list[tuple[KeyPath, str]]:
    """``split.scheme: given`` reads its files (which must exist) with ``input.format: generic``
    settings, on artists only, and prepare must keep every pair of them.

    >>> for path, msg in given_split_files({"split": {"scheme": "given", "given": {
    ...         "train": None, "test": "nope.txt", "validation": None}},
    ...         "input": {"format": "generic"}, "entities": ["artist"],
    ...         "prepare": {"min_artist_listeners": 3, "min_user_items": 1,
    ...                     "normalize_artist_names": False}}):
    ...     print(".".join(path), "-", msg)
    split.given.train - required with split.scheme: given
    split.given.test - file not found: nope.txt
    prepare.min_artist_listeners - must be 1 with split.scheme: given (it would drop pairs of the given files)
    """
    if config["split"]["scheme"] != "given":
        return []
    files, out = config["split"]["given"], []
    for part in ("train", "test", "validation"):
        if not files[part]:
            if part != "validation":
                out.append((("split", "given", part), "required with split.scheme: given"))
        elif not os.path.exists(files[part]):
            out.append((("split", "given", part), f"file not found: {files[part]}"))
    if config["input"]["format"] != "generic":
        out.append((("input", "format"), "must be generic with split.scheme: given (its "
                                         "input.generic settings read the rows shape)"))
    if list(config["entities"]) != ["artist"]:
        out.append((("entities",), "a given split holds (user, item) pairs: set entities: [artist]"))
    prepare = config["prepare"]
    for key, keeps_all in (("min_artist_listeners", 1), ("min_user_items", 1),
                           ("normalize_artist_names", False)):
        if prepare[key] != keeps_all:
            value = str(keeps_all).lower() if isinstance(keeps_all, bool) else keeps_all
            out.append((("prepare", key), f"must be {value} with split.scheme: given (it would "
                                          "drop pairs of the given files)"))
    return out


@_rule("input.format", "entities", "simulate.n_artists", "models", "topics.k")
def sizes_against_simulation(config: dict) -> list[tuple[KeyPath, str]]:
    """With simulated data the artist catalogue size is known before any job: refuse the model
    sizes (:data:`SIZE_KEYS`) and topic counts it cannot support (for real data the fit job
    refuses them, see ``tastemap.models.run.check_sizes``).

    >>> sizes_against_simulation({"input": {"format": "simulate"}, "entities": ["artist"],
    ...     "simulate": {"n_artists": 100}, "topics": {"k": [4]},
    ...     "models": {"als": {"enabled": True, "factors": [64, 128]}}})
    [(('models', 'als', 'factors'), '128 is not smaller than the catalogue (simulate.n_artists = 100)')]
    """
    if config["input"]["format"] != "simulate" or "artist" not in config["entities"]:
        return []
    n_artists = config["simulate"]["n_artists"]
    found = [(("topics", "k"), k) for k in config["topics"]["k"]]
    for name, section in config["models"].items():
        if (not isinstance(section, dict) or not section.get("enabled", False)
                or "artist" not in section.get("entities", ["artist"])):
            continue
        for key in SIZE_KEYS:
            values = section.get(key)
            values = values if isinstance(values, list) else [values]
            found += [(("models", name, key), v) for v in values]
    return [(path, f"{v} is not smaller than the catalogue (simulate.n_artists = {n_artists})")
            for path, v in found
            if isinstance(v, int) and not isinstance(v, bool) and v >= n_artists]


@_rule("evaluate.ks", "evaluate.primary_metric", "evaluate.sweep_metrics")
def evaluation_metrics(config: dict) -> list[tuple[KeyPath, str]]:
    """The primary metric must be a ranking metric computed for ``evaluate.ks``, and every sweep
    metric one computed at all (``rmse`` too).

    >>> for path, msg in evaluation_metrics({"evaluate": {"ks": [5], "primary_metric": "ndcg@10",
    ...                                        "sweep_metrics": ["rmse", "mrr@10", "map@20"]}}):
    ...     print(path, msg.split(";")[0])
    ('evaluate', 'primary_metric') 'ndcg@10' is not a ranking metric of evaluate.ks [5]
    ('evaluate', 'sweep_metrics') 'mrr@10', 'map@20' not computed with evaluate.ks [5]
    """
    from tastemap.metrics import metric_names  # numpy, pandas: only when the rule runs

    ev = config["evaluate"]
    ranking = metric_names(ev["ks"]) + [f"coverage@{k}" for k in sorted(set(ev["ks"]))]
    out = []
    if ev["primary_metric"] not in ranking:
        out.append((("evaluate", "primary_metric"),
                    f"{ev['primary_metric']!r} is not a ranking metric of evaluate.ks {ev['ks']}; "
                    f"choose one of {sorted(ranking)}"))
    wrong = [name for name in ev["sweep_metrics"] if name not in ranking + ["rmse"]]
    if wrong:
        out.append((("evaluate", "sweep_metrics"),
                    f"{', '.join(map(repr, wrong))} not computed with evaluate.ks {ev['ks']}; "
                    f"choose from {sorted(ranking + ['rmse'])}"))
    return out


@_rule("evaluate.published", "evaluate.ks")
def published_table(config: dict) -> list[tuple[KeyPath, str]]:
    """A published table exists and names only metrics the evaluation computes.

    >>> published_table({"evaluate": {"ks": [20], "published": {"table": "nope.csv"}}})
    [(('evaluate', 'published', 'table'), 'file not found: nope.csv')]
    """
    path = config["evaluate"]["published"]["table"]
    if not path:
        return []
    if not os.path.exists(path):
        return [(("evaluate", "published", "table"), f"file not found: {path}")]
    from tastemap.metrics import metric_names  # pandas: only when the rule runs
    from tastemap.published import read_published

    try:
        table = read_published(path)
    except ValueError as err:
        return [(("evaluate", "published", "table"), str(err))]
    known = set(metric_names(config["evaluate"]["ks"]))
    wrong = [c for c in table.columns if c not in ("model", "label") and c not in known]
    if wrong:
        return [(("evaluate", "published", "table"),
                 f"{path}: {', '.join(wrong)} not computed with evaluate.ks "
                 f"{config['evaluate']['ks']}")]
    return []


@_rule("search", "split.validation", "models")
def search_families(config: dict) -> list[tuple[KeyPath, str]]:
    """``search.families`` names families and ranges that exist, and a search has a
    validation split to score on.

    >>> search_families({"search": {"enabled": True, "trials": 4, "families": {"nope": {}}},
    ...                  "split": {"validation": True}, "models": {}})
    [(('search', 'families', 'nope'), "no model family 'nope'")]
    """
    from tastemap.models import registry  # light: no torch, implicit or scikit-learn

    search, out, planned = config["search"], [], False
    sections = registry.config_models(config["models"])
    for name in search["families"]:
        if name not in sections and name not in registry.FAMILIES:
            out.append((("search", "families", name), f"no model family {name!r}"))
    for name, section in sections.items():
        if not registry.enabled(section) or section.get("module"):
            continue  # an outside family is checked when the workflow imports it
        try:
            planned |= registry.search_space(name, section, search) is not None
        except ValueError as err:  # "search.families.<name>.space.<key>: why"
            where, _, why = str(err).partition(": ")
            out.append((tuple(where.split(".")), why))
    if planned and not config["split"]["validation"]:
        out.append((("search", "enabled"), "the search scores on the validation split: set "
                                           "split.validation: true, or search.enabled: false"))
    return out


# ---- the public entry points ----------------------------------------------------------------


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


# ---- config/README.md, generated from the schema --------------------------------------------
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
           f"<!-- Generated from workflow/schemas/config.schema.yaml by `{README_COMMAND}`; "
           "edit the schema, not this file. -->", "", _md(schema["description"].strip()), "",
           "## Top level", ""]
    out += _table({k: s for k, s in props.items() if s.get("type") != "object"}, "")
    for key, sub in props.items():
        if sub.get("type") == "object":
            out += _section(key, sub, 2)
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m tastemap.config readme`` prints config/README.md; ``check FILE...`` prints the
    problems of config files (exit status 1 if any)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tastemap.config", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("readme", help="print config/README.md, generated from the schema")
    chk = sub.add_parser("check", help="check config files")
    chk.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    if args.command == "readme":
        print(readme(), end="")
        return 0
    status = 0
    for path in args.files:
        with open(path) as fh:
            for line in check(yaml.safe_load(fh) or {}):
                print(f"{path}: {line}")
                status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
