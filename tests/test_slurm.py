"""The workflow on a real single-node SLURM cluster, through workflow/profiles/slurm.

The cluster comes from tests/slurm/cluster.sh (munge + slurmctld + slurmd from Debian's
packages), which `.ci/slurm-setup.sh` installs and starts, as root (`.ci/run` does, and removes it
again with `.ci/slurm-setup.sh teardown`). The tests never install or start anything: without a
running cluster the tests that need one skip with one line saying how to start it.

The SLURM run covers the data stages and a two-seed split, submitted the three ways the plugin
knows: a single job (simulate), a group job (ingest -> prepare -> matrices in one sbatch) and a
job array (the split of each seed, as a sweep would). Its outputs must equal those of a local
run of the same targets: matrices compared as arrays, tables as data frames.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
import scipy.sparse as sp
import yaml
from conftest import REPO, SNAKEMAKE, TINY_CONFIG, run_snakemake

CLUSTER = REPO / "tests" / "slurm" / "cluster.sh"
PROFILE = REPO / "workflow" / "profiles" / "slurm"
# tests/config/tiny.yaml with two seeds laid over it (a small sweep), run only up to the split.
CONFIG = ("--configfile", str(TINY_CONFIG), str(REPO / "tests" / "slurm" / "sweep.yaml"))
DATASET = "tiny"
TARGETS = (
    f"results/{DATASET}/data/rejected.parquet",
    f"results/{DATASET}/matrices/stats.json",
    *(f"results/{DATASET}/split/seed{s}/test_{e}.npz" for s in (0, 1) for e in ("artist", "song")),
)
# Status checks on a cluster without accounting (docs/cluster.md): squeue, polled from 1 s on
# (the test cluster keeps finished jobs visible for MinJobAge=600 s >= 3 x 1 s).
SLURM_ARGS = (
    "--workflow-profile", str(PROFILE),
    "--slurm-status-command", "squeue",
    "--slurm-init-seconds-before-status-checks", "1",
    # the three ways the plugin submits: simulate alone, ingest -> prepare -> matrices as one
    # group job (one sbatch), the two split jobs (one per seed) as one job array
    "--groups", "ingest=data", "prepare=data", "matrices=data",
    "--slurm-array-jobs", "split",
    "--latency-wait", "5",
    "--retries", "0",  # one SLURM job per planned job, so the counts below are exact
    "--jobs", "4",
)
SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+)")
ARRAY = re.compile(r"Submitted array job with Snakemake IDs ([\d,]+) and SLURM job ID (\d+)")
RUN_ID = re.compile(r"SLURM run ID: ([0-9a-f-]{36})")

NO_CLUSTER = ("SLURM tests need a running test cluster: run `.ci/slurm-setup.sh` as root (installs "
              "munge+slurm with apt-get and starts it; `.ci/slurm-setup.sh teardown` removes it)")

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]


def _cluster(cmd: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(CLUSTER), cmd], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def slurm_cluster():
    """The running single-node test cluster, or a skip: nothing here installs or starts it."""
    if not (shutil.which("sinfo") and _cluster("status", timeout=60).returncode == 0):
        pytest.skip(NO_CLUSTER)


def _squeue(*args: str) -> list[list[str]]:
    out = subprocess.run(["squeue", "--noheader", "--states=all", "--format=%i|%T|%j", *args],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split("|") for line in out.splitlines() if line.strip()]


def _job_counts(text: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table Snakemake prints at the start."""
    counts: dict[str, int] = {}
    in_table = False
    for line in text.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
        elif in_table and len(parts) == 2 and parts[1].isdigit():
            if parts[0] == "total":
                break
            counts[parts[0]] = int(parts[1])
    return counts


def _outputs(workdir: Path) -> dict[str, Path]:
    """Data files a run made (logs and benchmarks excluded), keyed by relative path."""
    roots = [workdir / "results" / DATASET, workdir / "resources" / "synthetic" / DATASET]
    found = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.suffix in {".npz", ".parquet", ".json", ".tsv"} and not (
                    {"logs", "benchmarks"} & set(path.relative_to(workdir).parts)
                    or path.name.endswith(".benchmark.tsv")):
                found[str(path.relative_to(workdir))] = path
    return found


def _assert_same(rel: str, a: Path, b: Path) -> None:
    if a.suffix == ".npz":
        ma, mb = sp.load_npz(a).tocsr(), sp.load_npz(b).tocsr()
        assert ma.shape == mb.shape and ma.dtype == mb.dtype, rel
        assert (ma != mb).nnz == 0, f"{rel}: matrices differ"
    elif a.suffix == ".parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b), obj=rel)
    elif a.suffix == ".json":
        assert json.loads(a.read_text()) == json.loads(b.read_text()), rel
    else:  # the simulated raw log (text)
        assert a.read_text() == b.read_text(), f"{rel}: text differs"


def test_profile_is_site_neutral_and_parses(tmp_path):
    """The profile names the executor and sizes but no account or partition (those are the
    site's), and Snakemake accepts it for the whole default workflow (dry run, no cluster)."""
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    assert profile["executor"] == "slurm"
    assert {"mem_mb", "runtime"} <= set(profile["default-resources"])
    assert not {"slurm_account", "slurm_partition"} & set(profile["default-resources"])
    assert profile["rerun-incomplete"] is True and profile["retries"] >= 1
    proc = run_snakemake(tmp_path, "--workflow-profile", str(PROFILE), "-n", "--quiet", "rules")
    assert f"workflow specific profile {PROFILE}" in proc.stderr
    assert "simulate" in proc.stdout + proc.stderr


def test_job_environment_exports_path(slurm_cluster, tmp_path):
    """sbatch hands the submitting environment (PATH with the venv) to the job, so the job
    finds the same snakemake and Python; the job runs on the node as the submitting user."""
    out = tmp_path / "job.out"
    env = dict(os.environ, PATH=f"{SNAKEMAKE.parent}{os.pathsep}{os.environ['PATH']}",
               TASTEMAP_PROBE="from-submitter")
    subprocess.run(
        ["sbatch", "--wait", "--quiet", "--time=2", "--mem=100", f"--output={out}",
         "--wrap", "command -v snakemake; echo $TASTEMAP_PROBE; echo $SLURM_JOB_ID; id -u"],
        env=env, check=True, timeout=120, capture_output=True, text=True, cwd=tmp_path)
    snakemake, probe, job_id, uid = out.read_text().split()
    assert Path(snakemake) == SNAKEMAKE
    assert probe == "from-submitter"
    assert int(job_id) > 0
    assert int(uid) == os.getuid()


def test_workflow_through_slurm_equals_local(slurm_cluster, tmp_path):
    slurm_dir, local_dir = tmp_path / "slurm", tmp_path / "local"
    slurm_dir.mkdir()
    local_dir.mkdir()
    with ThreadPoolExecutor(1) as pool:  # the local reference run meanwhile
        local = pool.submit(run_snakemake, local_dir, *CONFIG, "--", *TARGETS, configfile=None)
        try:
            # run_snakemake's timeout kills with SIGKILL (subprocess.run), never SIGTERM, which
            # Snakemake would treat as a graceful stop and wait for the jobs.
            proc = run_snakemake(slurm_dir, *CONFIG, *SLURM_ARGS, "--", *TARGETS,
                                 configfile=None, timeout=900)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout or ""
            text = out.decode() if isinstance(out, bytes) else out
            for run_id in set(RUN_ID.findall(text)):
                subprocess.run(["scancel", f"--name={run_id}"], check=False)
            raise
        local.result()
    text = proc.stdout + proc.stderr

    # every job went through sbatch: simulate alone, the group, one array of two split tasks
    counts = _job_counts(text)
    assert counts == {"simulate": 1, "ingest": 1, "prepare": 1, "matrices": 1, "split": 2}, counts
    single = [int(j) for j in SUBMITTED.findall(text)]
    arrays = [(ids.split(","), int(j)) for ids, j in ARRAY.findall(text)]
    assert len(single) == 2, f"expected simulate + one group job, got SLURM jobs {single}"
    assert "Group job data" in text
    assert [len(ids) for ids, _ in arrays] == [2], "the two split jobs were not one array job"

    # ... and SLURM knows them all as COMPLETED jobs of this run
    (run_id,) = set(RUN_ID.findall(text))
    states = {job: state for job, state, _ in _squeue(f"--name={run_id}")}
    expected = {str(j) for j in single} | {f"{j}_{t + 1}" for ids, j in arrays for t in range(len(ids))}
    assert set(states) == expected, (states, expected)
    assert set(states.values()) == {"COMPLETED"}, states
    for rule_log in ("logs/ingest.log", "logs/prepare.log", "logs/matrices.log",
                     "logs/split/seed0.log", "logs/split/seed1.log"):
        assert (slurm_dir / "results" / DATASET / rule_log).is_file(), rule_log

    # the same targets run locally give the same numbers
    slurm_out, local_out = _outputs(slurm_dir), _outputs(local_dir)
    assert set(slurm_out) == set(local_out)
    for name in ("matrices/user_artist.npz", "split/seed1/train_song.npz", "data/users.parquet"):
        assert f"results/{DATASET}/{name}" in slurm_out, name
    for rel in sorted(slurm_out):
        _assert_same(rel, slurm_out[rel], local_out[rel])
