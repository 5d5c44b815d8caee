"""Config errors: every rule of tastemap.config as a unit test (no snakemake process), one
end-to-end run showing that snakemake stops before any job, and config/README.md in step with
the schema."""
import copy
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO, TINY_CONFIG, reversed_mappings, run_snakemake

from tastemap import config as C

BASE = yaml.safe_load(TINY_CONFIG.read_text())


def merged(update: dict) -> dict:
    """The tiny config with ``update`` merged in, recursively."""
    def merge(into, upd):
        for key, value in upd.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value
        return into
    return merge(copy.deepcopy(BASE), update)


# (update of the tiny config, the one line check() must give)
CASES = [
    ({"split": {"test_fraction": 1.5}}, "split.test_fraction: 1.5 is not below 1"),
    ({"split": {"test_fraction": 0}}, "split.test_fraction: 0 is not above 0"),
    ({"split": {"scheme": "kfold"}},
     "split.scheme: 'kfold' is not one of ['holdout', 'loo', 'temporal', 'given']"),
    ({"prepare": {"min_track_listener": 3}},
     "prepare.min_track_listener: unknown key (did you mean prepare.min_track_listeners?)"),
    ({"prepare": {"min_track_listeners": "many"}},
     "prepare.min_track_listeners: 'many' is not of type 'integer'"),
    ({"seeds": []}, "seeds: [] should be non-empty"),
    ({"seeds": [0, 1.5]}, "seeds[1]: 1.5 is not of type 'integer'"),
    ({"entities": ["album"]}, "entities[0]: 'album' is not one of ['artist', 'song']"),
    ({"colour": "blue"}, "colour: unknown key"),
    ({"input": {"format": "lastfm-1k", "path": "missing.tsv"}},
     "input.path: file not found: missing.tsv"),
    ({"input": {"format": "lastfm-1k"}}, "input.path: required for input.format='lastfm-1k'"),
    ({"simulate": {"layout": "lastfm-360k"}},
     "entities: 'song' needs track names, which input.format='simulate' (simulate.layout=lastfm-360k) "
     "does not have; set entities: [artist]"),
    ({"plots": {"figsize": [15]}}, "plots.figsize: [15] is too short"),
    ({"models": {"als": {"factors": []}}}, "models.als.factors: [] should be non-empty"),
    ({"topics": {"k": []}}, "topics.k: [] should be non-empty"),
    ({"models": {"als": {"factors": [64, 500]}}},
     "models.als.factors: 500 is not smaller than the catalogue (simulate.n_artists = 240)"),
    ({"topics": {"k": [4, 300]}},
     "topics.k: 300 is not smaller than the catalogue (simulate.n_artists = 240)"),
    ({"input": {"download": {"md5": "abc"}}},
     "input.download.md5: 'abc' does not match '^[0-9a-fA-F]{32}$'"),
    ({"models": {"new_users": {"fan": []}}},
     "models.new_users.fan: [] is not valid under any of the given schemas"),
    ({"evaluate": {"primary_metric": "ndcg@5"}},
     "evaluate.primary_metric: 'ndcg@5' is not a ranking metric of evaluate.ks [10, 20]; choose one of"),
    ({"evaluate": {"sweep_metrics": ["rmse", "recall@5", "mrr@10"]}},
     "evaluate.sweep_metrics: 'recall@5', 'mrr@10' not computed with evaluate.ks [10, 20]; choose from"),
]


@pytest.mark.parametrize("update,message", CASES, ids=[m.split(":")[0] for _, m in CASES])
def test_each_wrong_value_gives_one_line_naming_the_key(update, message):
    assert [m[:len(message)] for m in C.check(merged(update))] == [message]


def test_the_ready_configs_are_valid(tmp_path, monkeypatch):
    """Every shipped config passes (real-data configs: their input files made to exist)."""
    monkeypatch.chdir(tmp_path)
    for path in [TINY_CONFIG, *sorted((REPO / "config").glob("*.yaml"))]:
        cfg = yaml.safe_load(path.read_text())
        files = [cfg.get("input", {}).get(key) for key in ("path", "tracks_path")]
        files += [cfg.get("split", {}).get("given", {}).get(part)
                  for part in ("train", "test", "validation")]
        for name in filter(None, files):
            Path(name).parent.mkdir(parents=True, exist_ok=True)
            Path(name).touch()
        published = cfg.get("evaluate", {}).get("published", {}).get("table")
        if published:  # shipped with the repository: its header is checked
            Path(published).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / published, published)
        assert C.check(cfg) == [], path.name


def test_every_problem_is_reported_at_once_sorted_by_key():
    cfg = merged({"split": {"test_fraction": 2}, "colour": 1, "topics": {"k": [300]},
                  "evaluate": {"ks": [5]}})
    assert [m.split(":")[0] for m in C.check(cfg)] == [
        "colour", "evaluate.primary_metric", "evaluate.sweep_metrics", "split.test_fraction", "topics.k"]


def test_two_problems_of_one_key_share_its_line():
    (line,) = C.check(merged({"topics": {"k": [300, 400]}}))
    assert line.startswith("topics.k: 300 is not smaller") and "; 400 is not smaller" in line


def test_a_rule_is_skipped_when_the_schema_refused_a_key_it_reads():
    """simulate.n_artists is not a number: the size rule must not run (nor crash) on it."""
    assert C.check(merged({"simulate": {"n_artists": "many"}})) == [
        "simulate.n_artists: 'many' is not of type 'integer'"]
    assert C.check(merged({"input": "lastfm"})) == ["input: 'lastfm' is not of type 'object'"]


def test_a_config_that_is_not_a_mapping():
    assert C.check(["dataset"]) == ["config: must be a mapping of keys to values, not list"]


def test_input_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plays.tsv").write_text("x\n")
    real = {"format": "lastfm-360k", "path": "plays.tsv"}
    assert C.check(merged({"entities": ["artist"], "input": real})) == []
    # the download rule makes a missing input.path
    url = {"url": "https://example.org/a.tar.gz"}
    assert C.check(merged({"entities": ["artist"], "input": {
        "format": "lastfm-360k", "path": "later.tsv", "download": url}})) == []
    assert C.check(merged({"entities": ["artist"], "input": {**real, "tracks_path": "names.dat"}})) == [
        "input.tracks_path: file not found: names.dat"]
    assert C.check(merged({"input": {"path": "missing.tsv"}})) == []  # simulate reads no file


def test_songs_need_track_names():
    msd = {"format": "msd-triplets", "path": str(TINY_CONFIG)}
    assert C.check(merged({"input": msd})) == [
        "entities: 'song' needs track names, which input.format='msd-triplets' without "
        "input.tracks_path does not have; set entities: [artist]"]
    assert C.check(merged({"input": {**msd, "tracks_path": str(TINY_CONFIG)}})) == []
    assert C.check(merged({"input": {"format": "hetrec-2k", "path": str(TINY_CONFIG)},
                           "entities": ["artist"]})) == []


def test_sizes_only_for_enabled_models_on_artists_of_simulated_data():
    big = {"factors": [5000]}
    assert C.check(merged({"models": {"als": {**big, "enabled": False}}})) == []
    assert C.check(merged({"models": {"als": {**big, "entities": ["song"]}}})) == []
    assert C.check(merged({"models": {"als": big}, "entities": ["song"]})) == []
    assert C.check(merged({"models": {"itemknn": {"neighbours": [240]}}})) == [
        "models.itemknn.neighbours: 240 is not smaller than the catalogue (simulate.n_artists = 240)"]
    assert C.check(merged({"models": {"lda": {"k": 300}}})) == [  # a scalar sweep key too
        "models.lda.k: 300 is not smaller than the catalogue (simulate.n_artists = 240)"]
    assert C.sizes_against_simulation(C.resolve(merged({}))) == []


def test_size_keys_are_the_ones_the_fit_checks():
    from tastemap.pipeline import fit as run

    assert run.SIZE_KEYS is C.SIZE_KEYS


def test_command_line_strings_are_converted_to_the_schema_types():
    """snakemake --config seeds=[1,2] explore={max_points: null} gives strings inside."""
    cfg = merged({"seeds": ["1", "2"], "explore": {"max_points": "null", "umap": {"min_dist": "0.5"}},
                  "split": {"validation": "false"}, "dataset": "123"})
    assert C.check(cfg) == []
    full = C.resolve(cfg)
    assert full["seeds"] == [1, 2] and full["explore"]["max_points"] is None
    assert full["explore"]["umap"]["min_dist"] == 0.5 and full["split"]["validation"] is False
    assert full["dataset"] == "123"  # a string in the schema stays a string
    assert C.check(merged({"seeds": ["one"]})) == ["seeds[0]: 'one' is not of type 'integer'"]


def test_check_and_resolve_leave_their_argument_alone():
    cfg = merged({"seeds": ["1"]})
    before = copy.deepcopy(cfg)
    C.check(cfg)
    C.resolve(cfg)
    assert cfg == before and list(cfg) == list(before)


def test_resolve_raises_with_every_line():
    with pytest.raises(C.ConfigError) as err:
        C.resolve(merged({"split": {"test_fraction": 2}, "colour": 1}))
    assert str(err.value).splitlines() == [
        "invalid config:", "  colour: unknown key (allowed: dataset, entities, evaluate, explore, "
        "input, models, plots, prepare, search, seeds, simulate, split, topics)",
        "  split.test_fraction: 2 is not below 1"]


def test_resolve_is_canonical_whatever_the_key_order():
    a, b = C.resolve(BASE), C.resolve(reversed_mappings(BASE))
    assert list(reversed_mappings(BASE)) != list(BASE)
    assert repr(a) == repr(b)  # what Snakemake compares for params
    assert list(a["simulate"]) == sorted(a["simulate"])


@pytest.mark.parametrize("name", ["tiny", "config", "lastfm-360k", "msd"])
def test_defaults_are_filled_in_as_snakemake_validate_does(name, tmp_path):
    """The library never imports snakemake; its defaults must equal what
    snakemake.utils.validate(set_default=True) fills in, nested sections included."""
    from snakemake.utils import validate

    path = TINY_CONFIG if name == "tiny" else REPO / "config" / f"{name}.yaml"
    ours = C.fill_defaults(yaml.safe_load(path.read_text()), C.load_schema())
    theirs = yaml.safe_load(path.read_text())
    validate(theirs, str(C.SCHEMA_PATH), set_default=True)
    assert ours == theirs
    assert "enabled" in ours["models"]["lda"] and "timeout" in ours["input"]["download"]  # nested


def test_readme_is_generated_from_the_schema():
    """config/README.md is `python -m tastemap.config readme`; regenerate it after editing the
    schema."""
    assert (REPO / "config" / "README.md").read_text() == C.readme(C.load_schema()), (
        f"config/README.md is out of date: run `{C.README_COMMAND}`")


def test_readme_lists_every_key_with_its_default():
    text = C.readme(C.load_schema())
    assert "| `split.test_fraction` | `0.2` | number, > 0, < 1 |" in text
    assert "| `input.generic.columns` | `{user: user, artist: artist}` |" in text
    assert "### models.als" in text and "### explore.umap" in text


def test_command_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("split: {test_fraction: 3}\n")
    assert C.main(["check", str(bad)]) == 1
    assert capsys.readouterr().out == f"{bad}: split.test_fraction: 3 is not below 1\n"
    assert C.main(["check", str(TINY_CONFIG)]) == 0


@pytest.mark.workflow
def test_snakemake_stops_before_any_job_with_one_line_per_key(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(merged({"split": {"test_fraction": 1.5}, "colour": "blue",
                                           "topics": {"k": [4, 300]}})))
    proc = run_snakemake(tmp_path, configfile=path, check=False)
    lines = (proc.stdout + proc.stderr).splitlines()
    assert proc.returncode != 0
    for line in C.check(yaml.safe_load(path.read_text())):
        assert f"  {line}" in lines, lines
    assert len(C.check(yaml.safe_load(path.read_text()))) == 3
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()
