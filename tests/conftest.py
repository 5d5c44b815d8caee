"""Shared fixtures: run the real snakemake command on a config in a temporary directory."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / "tests" / "config" / "tiny.yaml"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"
#: the tiny config's dataset: its results are under <workdir>/results/tiny/
TINY_DATASET = "tiny"


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


def job_counts(text: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table Snakemake prints."""
    jobs: dict[str, int] = {}
    in_table = False
    for line in text.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
            continue
        if in_table and len(parts) == 2 and parts[1].isdigit():
            if parts[0] == "total":
                break
            jobs[parts[0]] = int(parts[1])
    return jobs


def dry_run_jobs(workdir: Path, *args: str, configfile: Path | None = TINY_CONFIG) -> dict[str, int]:
    """Rules that ``snakemake -n`` would run, with their job counts (from the job-stats table)."""
    proc = run_snakemake(workdir, *args, "-n", "--quiet", "rules", configfile=configfile)
    return job_counts(proc.stdout + proc.stderr)


def dry_run_outputs(workdir: Path, *args: str, configfile: Path | None = TINY_CONFIG) -> set[str]:
    """Every output file ``snakemake -n`` plans to make (paths relative to ``workdir``)."""
    proc = run_snakemake(workdir, *args, "-n", configfile=configfile)
    found = set()
    for line in (proc.stdout + proc.stderr).splitlines():
        m = re.match(r"\s+output: (.*)$", line)
        if m:
            found.update(p.strip() for p in m.group(1).split(","))
    return found


def results(workdir: Path, template: str, **wildcards) -> Path:
    """The file of a tastemap.core.layout template in the tiny run of ``workdir``."""
    from tastemap.core import layout

    return workdir / "results" / TINY_DATASET / layout.path(template, **wildcards)


def _shared_tmp(tmp_path_factory) -> Path:
    """A temporary directory shared by every pytest-xdist worker of this session."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def reversed_mappings(value):
    """``value`` (a config) with the keys of every mapping in reverse order, recursively."""
    if isinstance(value, dict):
        return {k: reversed_mappings(value[k]) for k in reversed(list(value))}
    return [reversed_mappings(v) for v in value] if isinstance(value, list) else value


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The whole default workflow run once on the tiny config; tests read its outputs.

    Built once per session even with pytest-xdist workers: the first worker to get the file
    lock runs it, the others wait and reuse the directory. Returns the working directory;
    outputs are under ``<dir>/results/tiny/``.
    """
    shared = _shared_tmp(tmp_path_factory)
    workdir, done = shared / "tiny_run", shared / "tiny_run.done"
    with FileLock(str(shared / "tiny_run.lock")):
        if not done.exists():
            workdir.mkdir(exist_ok=True)
            run_snakemake(workdir)
            done.touch()
    return workdir


def tiny_run_lock(tiny_run: Path) -> FileLock:
    """The lock held while snakemake runs in the shared tiny run's directory.

    Any xdist worker may read the tiny run's outputs at any time (the run is complete once the
    ``tiny_run`` fixture returns), but only one at a time may run snakemake in it: a ``--report``
    or an extra target writes there, and a dry run must not see another process's half-written
    job. (``--dist loadgroup`` could keep those tests on one worker, but with pytest 9.2 it
    silently stops grouping: pytest-xdist issue #1386. A lock also leaves the other tiny-run
    tests free to run on any worker.)
    """
    return FileLock(str(tiny_run.parent / "tiny_run.snakemake.lock"))


@pytest.fixture()
def tiny_run_to_myself(tiny_run) -> Path:
    """``tiny_run``, held with :func:`tiny_run_lock` for the test: for tests that run snakemake
    in it (``@pytest.mark.usefixtures("tiny_run_to_myself")``)."""
    with tiny_run_lock(tiny_run):
        yield tiny_run


def pytest_configure(config):
    """Warn once when SLURM is installed but its controller is down.

    Every snakemake command then waits about 9 s before it starts: the SLURM executor plugin asks
    ``scontrol show config`` at import, and scontrol retries a dead controller. Over the suite's
    few dozen snakemake commands that took it from 4.7 to 7.4 minutes (docs/benchmarks.md).
    """
    if os.environ.get("PYTEST_XDIST_WORKER") or shutil.which("scontrol") is None:
        return
    if subprocess.run(["scontrol", "ping"], capture_output=True, timeout=60).returncode != 0:
        config.issue_config_time_warning(pytest.PytestWarning(
            "SLURM is installed but slurmctld is down: every snakemake command of the tests waits "
            "~9 s in the SLURM plugin's `scontrol show config`. Start the test cluster with "
            "`.ci/slurm-setup.sh`, or remove SLURM: `.ci/slurm-setup.sh teardown` (if it installed "
            "it) or `apt-get purge slurm-client slurmctld slurmd munge` (docs/cluster.md)."),
            stacklevel=2)


def pytest_collection_modifyitems(items):
    """The SLURM tests first. They mostly wait on the cluster's scheduler, so they should overlap
    the CPU-bound tests, not trail after them: pytest-xdist deals the tests out in collection
    order, and test_slurm.py comes late in the alphabet."""
    items.sort(key=lambda item: item.get_closest_marker("slurm") is None)  # stable


@pytest.fixture()
def workdir(tmp_path) -> Path:
    return tmp_path
