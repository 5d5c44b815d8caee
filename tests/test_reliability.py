"""Interrupted runs and determinism: kill a running workflow with SIGKILL during a model fit,
resume it, and compare every array and table with an uninterrupted run of the same config (the
shared ``tiny_run``).

The smallest DAG that shows it: the data stages and three model fit jobs of the tiny config
(ALS, biased MF, two-tower on artists: implicit and torch), from scratch in their own
directory. Equality with ``tiny_run`` is also the run-twice determinism check of the data
stages and of those fits (evaluation, maps and topics have their own same-seed tests).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from conftest import REPO, SNAKEMAKE, TINY_CONFIG, dry_run_jobs, results, run_snakemake

from tastemap.core import layout as L

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
        if path.suffix == ".npz" and not zipfile.is_zipfile(path):
            continue  # a pickled model (until every family saves arrays): compared through its outputs
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
                        if np.issubdtype(x[key].dtype, np.number):
                            np.testing.assert_allclose(x[key], y[key], rtol=RTOL, atol=ATOL,
                                                       err_msg=f"{where}: {key}")
                        else:  # e.g. the JSON string of a model's parameters
                            np.testing.assert_array_equal(x[key], y[key], err_msg=f"{where}: {key}")
        elif path.suffix == ".parquet":
            _compare_frames(pd.read_parquet(path), pd.read_parquet(twin), where)
        elif path.suffix == ".csv":
            _compare_frames(pd.read_csv(path), pd.read_csv(twin), where)
        elif path.suffix == ".json":
            _compare_json(json.loads(path.read_text()), json.loads(twin.read_text()), where)
        else:
            continue  # figures, logs
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


#: the fit jobs of the test: implicit (ALS) and torch (MF, two-tower) families, artists only
FITS = (("als", "f64"), ("mf", "f8"), ("twotower", "f32"))


def test_killed_run_resumes_to_the_same_outputs(request, tmp_path):
    workdir = tmp_path / "killed"
    workdir.mkdir()
    targets = [str(results(workdir, L.RECOMMENDATIONS, entity="artist", model=m, variant=v,
                           seed=0, fit="full").relative_to(workdir)) for m, v in FITS]
    cmd = [str(SNAKEMAKE), *targets, "--snakefile", str(REPO / "Snakefile"), "--directory",
           str(workdir), "--cores", "2", "--configfile", str(TINY_CONFIG)]
    # Kill while a model fit is running: by then data and split are complete.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    logs = results(workdir, L.LOGS)
    started = _wait_for(lambda: any((logs / "models").rglob("fit.log")), proc, timeout=900)
    assert started, "the workflow ended or stalled before any model fit started"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    run_snakemake(workdir, "--unlock")
    # the kill interrupted work: fits are left to do (the running ones' outputs incomplete)
    assert dry_run_jobs(workdir, *targets, "--rerun-incomplete").get("fit_model", 0) >= 1
    # Outputs of the jobs that were running are marked incomplete: never taken as complete.
    resumed = run_snakemake(workdir, *targets, check=False)
    if resumed.returncode != 0:
        assert "incomplete" in (resumed.stdout + resumed.stderr).lower(), resumed.stderr[-3000:]
        run_snakemake(workdir, *targets, "--rerun-incomplete")
    assert dry_run_jobs(workdir, *targets) == {}

    # the uninterrupted reference, asked for only now: the kill and resume above run meanwhile
    tiny_run = request.getfixturevalue("tiny_run")
    n = compare_outputs(tiny_run / "results" / "tiny", workdir / "results" / "tiny")
    assert n >= 30, f"only {n} files compared"
