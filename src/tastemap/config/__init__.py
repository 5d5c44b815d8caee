"""The workflow's config, checked by the library: every rule in one place, one message per key.

``check(config)`` returns one line per problem, each naming the key
(``split.test_fraction: 1.5 is not below 1``); ``resolve(config)`` returns the complete config
the workflow runs on (``--config`` strings converted, the schema's defaults filled in, every
mapping's keys sorted) or raises :class:`ConfigError` with all the lines. The rules:

- the JSON schema ``src/tastemap/schemas/config.schema.yaml`` (types, ranges, unknown keys);
- cross-key rules the schema cannot express (:data:`RULES`): song entity vs formats without
  track names, input files that must exist, model sizes vs the simulated catalogue, evaluation
  metrics vs ``evaluate.ks``.

``config/README.md`` is generated from the schema: ``python -m tastemap.config readme >
config/README.md``. The schema's model families (``models.<name>``: hyper-parameters, their
defaults and ranges) are in turn generated from the model classes by ``python -m
tastemap.models.schema`` (:mod:`tastemap.models.schema`); each test compares its file with what
its command writes. Like the rest of the library, this package never imports snakemake.

Why sorted keys: Snakemake decides that a job's params changed by comparing ``repr()`` of each
param value with the one recorded at the last run, and a dict's repr follows its insertion
order; so the same config written with its keys in another order would rerun jobs. After
``resolve`` every mapping derived from the config has one order.

The package: :mod:`~tastemap.config.schema` (loading the schema, ``--config`` strings, defaults,
the schema's violations), :mod:`~tastemap.config.rules` (the cross-key rules),
:mod:`~tastemap.config.validate` (``check``, ``resolve``), :mod:`~tastemap.config.readme`
(``config/README.md``); every public name is importable from ``tastemap.config``.
"""
from __future__ import annotations

import yaml

from tastemap.config.readme import README_COMMAND, readme
from tastemap.config.rules import (
    RULES,
    SIZE_KEYS,
    evaluation_metrics,
    given_split_files,
    input_files,
    input_format_registered,
    published_table,
    search_families,
    sizes_against_simulation,
    songs_need_tracks,
)
from tastemap.config.schema import (
    SCHEMA_PATH,
    KeyPath,
    coerce_strings,
    fill_defaults,
    key_name,
    load_schema,
)
from tastemap.config.validate import ConfigError, canonical, check, messages, resolve

__all__ = [
    "README_COMMAND", "RULES", "SCHEMA_PATH", "SIZE_KEYS", "ConfigError", "KeyPath", "canonical",
    "check", "coerce_strings", "evaluation_metrics", "fill_defaults", "given_split_files",
    "input_files", "input_format_registered", "key_name", "load_schema", "main", "messages",
    "published_table", "readme", "resolve", "search_families", "sizes_against_simulation",
    "songs_need_tracks",
]


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
