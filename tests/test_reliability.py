"""Interrupted runs and determinism: kill a running workflow with SIGKILL, resume it, and compare
every array and table with an uninterrupted run of the same config (the shared ``tiny_run``).

One extra run of the tiny workflow's data, models and evaluation stages (targets ``models
evaluate``) answers both questions of issue 9: the resumed run starts from scratch in its own
directory, so equality with ``tiny_run`` is also the run-twice determinism check of those
stages (maps and topics have their own same-seed tests in test_explore.py / test_topics.py).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from conftest import REPO, SNAKEMAKE, TINY_CONFIG, dry_run_jobs, run_snakemake

pytestmark = pytest.mark.workflow

#: Files that legitimately differ between two runs: wall-clock measurements and logs.
SKIP_DIRS = {"logs", "benchmarks"}
#: JSON keys holding wall-clock durations (compared for presence, not value).
TIME_KEYS = ("seconds", "time", "elapsed", "duration")
#: Tolerance for floating-point tables: every step is seeded and single-order, so runs agree
#: exactly on the same machine; the tolerance only absorbs BLAS summation order differences.
RTOL, ATOL = 1e-5, 1e-7


def _compare_json(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            if any(t in key.lower() for t in TIME_KEYS):
                continue
            _compare_json(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _compare_json(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=RTOL, abs=ATOL, nan_ok=True), where
    else:
        assert a == b, where


def _compare_frames(a: pd.DataFrame, b: pd.DataFrame, where: str) -> None:
    time_cols = [c for c in a.columns if any(t in str(c).lower() for t in TIME_KEYS)
                 and not str(c).endswith("_ts")]
    pd.testing.assert_frame_equal(a.drop(columns=time_cols), b.drop(columns=time_cols),
                                  check_exact=False, rtol=RTOL, atol=ATOL, obj=where)


def compare_outputs(a_root: Path, b_root: Path) -> int:
    """Assert every npz / parquet / csv / json under ``b_root`` equals its twin under ``a_root``.

    Walks ``b_root`` (a run of the default target only): ``a_root`` is the shared run, where
    other tests add outputs of their own (e.g. users placed into a map). Returns the count.
    """
    n = 0
    for twin in sorted(b_root.rglob("*")):
        rel = twin.relative_to(b_root)
        if not twin.is_file() or SKIP_DIRS & set(rel.parts):
            continue
        path = a_root / rel
        assert path.exists(), f"{rel} missing from the uninterrupted run"
        where = str(rel)
        if path.suffix == ".npz":
            try:
                x, y = sp.load_npz(path), sp.load_npz(twin)
                assert x.shape == y.shape, where
                excess = abs(x - y) - RTOL * abs(x)  # sparse: no scalar added to every cell
                assert excess.nnz == 0 or excess.max() <= ATOL, where
            except ValueError:  # a plain numpy archive
                with np.load(path) as x, np.load(twin) as y:
                    assert x.files == y.files, where
                    for key in x.files:
                        np.testing.assert_allclose(x[key], y[key], rtol=RTOL, atol=ATOL, err_msg=where)
        elif path.suffix == ".parquet":
            _compare_frames(pd.read_parquet(path), pd.read_parquet(twin), where)
        elif path.suffix == ".csv":
            _compare_frames(pd.read_csv(path), pd.read_csv(twin), where)
        elif path.suffix == ".json":
            _compare_json(json.loads(path.read_text()), json.loads(twin.read_text()), where)
        else:
            continue  # figures, pickled models (compared through what they produce), logs
        n += 1
    return n


def _wait_for(predicate, proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def test_killed_run_resumes_to_the_same_outputs(tiny_run, tmp_path):
    workdir = tmp_path / "killed"
    workdir.mkdir()
    # the data, models and evaluation stages (maps and topics add run time, not other risks)
    targets = ("models", "evaluate")
    cmd = [str(SNAKEMAKE), *targets, "--snakefile", str(REPO / "Snakefile"), "--directory",
           str(workdir), "--cores", "2", "--configfile", str(TINY_CONFIG)]
    # Kill while model fits are running: by then data, split and some fits are complete.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    logs = workdir / "results" / "tiny" / "logs"
    started = _wait_for(lambda: any((logs / "models").rglob("fit.log")), proc, timeout=900)
    assert started, "the workflow ended or stalled before any model fit started"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    run_snakemake(workdir, "--unlock")
    # Outputs of the jobs that were running are marked incomplete: never taken as complete.
    resumed = run_snakemake(workdir, *targets, check=False)
    if resumed.returncode != 0:
        assert "incomplete" in (resumed.stdout + resumed.stderr).lower(), resumed.stderr[-3000:]
        run_snakemake(workdir, *targets, "--rerun-incomplete")
    assert dry_run_jobs(workdir, *targets) == {}

    n = compare_outputs(tiny_run / "results" / "tiny", workdir / "results" / "tiny")
    assert n > 150, f"only {n} files compared"
