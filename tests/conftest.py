"""Shared fixtures: run the real snakemake command on a config in a temporary directory."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / "tests" / "config" / "tiny.yaml"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def run_snakemake(
    workdir: Path, *args: str, configfile: Path | None = TINY_CONFIG, check: bool = True,
    timeout: float = 1200,
) -> subprocess.CompletedProcess:
    """Run the repository's Snakefile in ``workdir`` (outputs land there, not in the repo)."""
    cmd = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", "2"]
    cmd += list(args)
    if configfile is not None:  # last: --configfile would swallow positional targets after it
        cmd += ["--configfile", str(configfile)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=workdir)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-12000:]}"
        )
    return proc


def dry_run_jobs(workdir: Path, *args: str, configfile: Path | None = TINY_CONFIG) -> dict[str, int]:
    """Rules that ``snakemake -n`` would run, with their job counts (from the job-stats table)."""
    proc = run_snakemake(workdir, *args, "-n", "--quiet", "rules", configfile=configfile)
    jobs: dict[str, int] = {}
    in_table = False
    for line in (proc.stdout + proc.stderr).splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
            continue
        if in_table and len(parts) == 2 and parts[1].isdigit():
            if parts[0] == "total":
                break
            jobs[parts[0]] = int(parts[1])
    return jobs


def reversed_mappings(value):
    """``value`` (a config) with the keys of every mapping in reverse order, recursively."""
    if isinstance(value, dict):
        return {k: reversed_mappings(value[k]) for k in reversed(list(value))}
    return [reversed_mappings(v) for v in value] if isinstance(value, list) else value


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The whole default workflow run once on the tiny config; tests read its outputs.

    Returns the working directory; outputs are under ``<dir>/results/tiny/``.
    """
    workdir = tmp_path_factory.mktemp("tiny_run")
    run_snakemake(workdir)
    return workdir


@pytest.fixture()
def workdir(tmp_path) -> Path:
    return tmp_path
