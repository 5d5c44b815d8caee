"""The config's cross-key rules: what the JSON schema cannot express (song entity vs formats
without track names, input files that must exist, model sizes vs the simulated catalogue,
evaluation metrics vs ``evaluate.ks``, the validation search's families).

A rule is a function registered in :data:`RULES` with ``@_rule(keys read)``: it takes the config
with defaults filled in and returns (key path, message) pairs; :func:`tastemap.config.check`
skips it when the schema already refused a key it reads.
"""
from __future__ import annotations

import os
from collections.abc import Callable

from tastemap.config.schema import KeyPath

#: model hyper-parameters that count items or dimensions: they must stay below the catalogue size
SIZE_KEYS = ("factors", "k", "neighbours")

#: (keys read, rule): each rule takes the config with defaults filled in and returns
#: (key path, message) pairs; it is skipped when the schema already refused a key it reads.
RULES: list[tuple[tuple[KeyPath, ...], Callable[[dict], list[tuple[KeyPath, str]]]]] = []


def _rule(*keys: str):
    def register(func):
        RULES.append((tuple(tuple(k.split(".")) for k in keys), func))
        return func

    return register


def _input_format(config: dict):
    """The declaration of the format ingest reads (:mod:`tastemap.data.formats.registry`): the
    Last.fm layout simulate writes, or ``input.format`` (registered by ``input.module``)."""
    from tastemap.data.formats import registry

    inp = config["input"]
    if inp["format"] == "simulate":
        return registry.get(config["simulate"]["layout"])
    return registry.get(inp["format"], inp.get("module"))


@_rule("input.format", "input.module")
def input_format_registered(config: dict) -> list[tuple[KeyPath, str]]:
    """A format outside tastemap (``input.module``) is importable and registers
    ``input.format``; ``input.module`` is only for such a format.

    >>> [(path, msg)] = input_format_registered({"input": {"format": "my-format",
    ...                                                   "module": "no_such_module_here"}})
    >>> path, msg.split(" on ")[0]
    (('input', 'module'), "no module 'no_such_module_here'")
    """
    inp = config["input"]
    if not inp.get("module"):
        return []
    if inp["format"] == "simulate":
        return [(("input", "module"),
                 "only for a format outside tastemap (input.format is simulate)")]
    try:
        _input_format(config)
    except (ValueError, ImportError) as err:  # "input.module: why"
        where, _, why = str(err).partition(": ")
        return [(tuple(where.split(".")), why)]
    return []


@_rule("input.format", "input.module", "input.tracks_path", "simulate.layout", "entities")
def songs_need_tracks(config: dict) -> list[tuple[KeyPath, str]]:
    """The song entity needs track names, which some formats do not have (their declaration:
    ``has_tracks``, ``tracks_need_side_file``).

    >>> [(path, msg)] = songs_need_tracks({"input": {"format": "hetrec-2k", "tracks_path": None},
    ...                                    "entities": ["artist", "song"]})
    >>> path
    ('entities',)
    >>> msg
    "'song' needs track names, which input.format='hetrec-2k' does not have; set entities: [artist]"
    """
    if "song" not in config["entities"]:
        return []
    try:
        spec = _input_format(config)
    except (ValueError, ImportError):  # reported by input_format_registered
        return []
    inp = config["input"]
    if spec.gives_tracks(side_file=bool(inp["tracks_path"])):
        return []
    fmt, why = inp["format"], ""
    if fmt == "simulate":
        why = f" (simulate.layout={spec.name})"
    elif spec.gives_tracks(side_file=True):
        why = " without input.tracks_path"
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


#: split.held_out_users.fraction when left null (and the split is not given)
HELD_OUT_FRACTION = 0.1


def derived_defaults(config: dict) -> None:
    """Fill, in place, the defaults that depend on other keys (null in the schema):
    ``split.held_out_users.fraction`` is :data:`HELD_OUT_FRACTION`, or 0 with a given split.

    >>> config = {"split": {"scheme": "given", "held_out_users": {"fraction": None}}}
    >>> derived_defaults(config)
    >>> config["split"]["held_out_users"]["fraction"]
    0.0
    """
    held = config["split"]["held_out_users"]
    if held["fraction"] is None:
        held["fraction"] = 0.0 if config["split"]["scheme"] == "given" else HELD_OUT_FRACTION


@_rule("split.scheme", "split.held_out_users")
def held_out_users_need_a_drawn_split(config: dict) -> list[tuple[KeyPath, str]]:
    """A given split fixes every user's part: no users can be held out of it.

    >>> for path, msg in held_out_users_need_a_drawn_split({"split": {"scheme": "given",
    ...         "held_out_users": {"fraction": 0.1, "max_users": 100}}}):
    ...     print(".".join(path), "-", msg)
    split.held_out_users.fraction - must be 0 with split.scheme: given (its files fix every user's part)
    """
    split = config["split"]
    if split["scheme"] == "given" and (split["held_out_users"]["fraction"] or 0) > 0:
        return [(("split", "held_out_users", "fraction"),
                 "must be 0 with split.scheme: given (its files fix every user's part)")]
    return []


@_rule("input.format", "entities", "simulate.n_artists", "models", "topics.k")
def sizes_against_simulation(config: dict) -> list[tuple[KeyPath, str]]:
    """With simulated data the artist catalogue size is known before any job: refuse the model
    sizes (:data:`SIZE_KEYS`) and topic counts it cannot support (for real data the fit job
    refuses them, see ``tastemap.pipeline.fit.check_sizes``).

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
    from tastemap.evaluate.metrics import metric_names  # numpy, pandas: only when the rule runs

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
    from tastemap.evaluate.metrics import metric_names  # pandas: only when the rule runs
    from tastemap.evaluate.published import read_published

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
