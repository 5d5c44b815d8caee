"""The package works installed, not only from a checkout: ``pip install .`` (not editable), then
the config check and the ``tastemap`` command run from a folder outside the repository and find
everything they need (the config schema is package data)."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY_DATASET

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict]:
    """tastemap installed by pip into its own folder (its dependencies: this environment's), and
    the environment that imports it from there."""
    root = tmp_path_factory.mktemp("installed")
    target, sources = root / "site", root / "sources"
    # from a copy of the sources: pip builds in the source tree, never in the checkout
    shutil.copytree(REPO / "src", sources / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, sources / name)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(sources)],
        capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"pip install . failed:\n{proc.stdout}\n{proc.stderr}")
    env = {**os.environ, "PYTHONPATH": str(target)}
    return target, env


def run(args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_installed_package_is_the_one_imported(installed, tmp_path):
    target, env = installed
    proc = run([sys.executable, "-c", "import tastemap, tastemap.config as c; "
                "print(tastemap.__file__); print(c.SCHEMA_PATH); print(tastemap.__version__)"],
               env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    module, schema, version = proc.stdout.split()
    assert Path(module).is_relative_to(target) and Path(schema).is_relative_to(target)
    assert Path(schema).is_file() and version


def test_config_check_outside_the_checkout(installed, tmp_path):
    _, env = installed
    good = run([sys.executable, "-m", "tastemap.config", "check", str(REPO / "config" / "config.yaml")],
               env, tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("split: {test_fraction: 1.5}\n")
    wrong = run([sys.executable, "-m", "tastemap.config", "check", str(bad)], env, tmp_path)
    assert wrong.returncode == 1
    assert "split.test_fraction" in wrong.stdout + wrong.stderr


def test_tastemap_info_outside_the_checkout(installed, tiny_run, tmp_path):
    target, env = installed
    script = target / "bin" / "tastemap"
    assert script.is_file(), "pip installed no `tastemap` command"
    proc = run([sys.executable, str(script), "info", "--results",
                str(tiny_run / "results" / TINY_DATASET)], env, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert TINY_DATASET in proc.stdout
