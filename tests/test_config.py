"""Config errors stop the run before any job, with a message naming the key."""
import pytest
import yaml

from conftest import TINY_CONFIG, run_snakemake

BASE = yaml.safe_load(TINY_CONFIG.read_text())

CASES = [
    ({"split": {"test_fraction": 1.5}}, "split.test_fraction: 1.5 is not below 1"),
    ({"split": {"test_fraction": 0}}, "split.test_fraction: 0 is not above 0"),
    ({"split": {"scheme": "kfold"}}, "split.scheme: 'kfold' is not one of"),
    ({"prepare": {"min_track_listener": 3}}, "prepare: unknown key 'min_track_listener'"),
    ({"prepare": {"min_track_listeners": "many"}}, "prepare.min_track_listeners: 'many' is not of type 'integer'"),
    ({"seeds": []}, "seeds: [] should be non-empty"),
    ({"seeds": [1.5]}, "seeds.0: 1.5 is not of type 'integer'"),
    ({"entities": ["album"]}, "entities.0: 'album' is not one of"),
    ({"colour": "blue"}, "unknown key 'colour'"),
    ({"input": {"format": "lastfm-1k", "path": "missing.tsv"}}, "input.path: file not found: missing.tsv"),
    ({"input": {"format": "lastfm-1k"}}, "input.path: required for input.format='lastfm-1k'"),
    ({"simulate": {"layout": "lastfm-360k"}}, "entities: 'song' needs track names"),
    ({"plots": {"figsize": [15]}}, "plots.figsize: [15] is too short"),
    ({"models": {"als": {"factors": []}}}, "models.als.factors: [] should be non-empty"),
    ({"topics": {"k": []}}, "topics.k: [] should be non-empty"),
    ({"models": {"als": {"factors": [64, 500]}}}, "models.als.factors: 500 is not smaller than the catalogue"),
    ({"topics": {"k": [4, 300]}}, "topics.k: 300 is not smaller than the catalogue"),
]


def merged(update):
    cfg = {k: (dict(v) if isinstance(v, dict) else v) for k, v in BASE.items()}
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg


@pytest.mark.workflow
@pytest.mark.parametrize("update,message", CASES, ids=[m.split(":")[0] for _, m in CASES])
def test_bad_config_stops_before_any_job_naming_the_key(tmp_path, update, message):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(merged(update)))
    proc = run_snakemake(tmp_path, configfile=path, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert message in out, out[-3000:]
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()
