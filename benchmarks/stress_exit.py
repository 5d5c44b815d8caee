"""Run small workflow jobs hundreds of times under CPU load and count the abnormal exits.

The check for the abort at exit (``terminate called without an active exception``, SIGABRT,
after the job had done its work; the cause and the fix: ``src/tastemap/core/exit.py``). Each job is
the real one: Snakemake's own job file (its preamble with the pickled ``snakemake`` object, then
``scripts/<rule>.py``), made once by ``snakemake --skip-script-cleanup`` on small inputs, then run
again and again as Snakemake runs it (``python <job file>``, a fresh process, the thread
variables Snakemake sets), each run in its own directory with the inputs linked in, while
``--load-processes`` busy loops keep the cores loaded and ``--jobs`` runs go at once.

The jobs: ``ingest-hetrec`` (HetRec ``user_artists.dat`` with its side file ``artists.dat``, the
job of the issue), ``ingest-lastfm1k-gz`` (a gzip Last.fm-1K file, read through Arrow's
CompressedInputStream), and ``fit-<model>`` for ``--fit-models`` (default: ALS, BPR, popularity,
EASE, item-kNN) on the tiny simulated log of ``tests/config/tiny.yaml`` - no download (the
inputs are ``tests/data/bad/`` files and the simulator).

A run is abnormal when it exits with a signal or a non-zero status, prints ``terminate called``,
times out, or leaves an output missing or unreadable (Parquet footer, JSON, npz). The table
gives, per job, runs, abnormal runs, their statuses and the first one's stderr; the exit status
is 1 if any run was abnormal. Abnormal runs keep their directory (job log; ``--core-dumps``:
the core file, for ``gdb -batch -ex 'thread apply all bt' <python> core``).

Usage::

    python benchmarks/stress_exit.py                      # 300 runs of each job, 4 at once, 2 loaders
    python benchmarks/stress_exit.py --runs 30            # 7 x 30 = 210 runs
    python benchmarks/stress_exit.py --only ingest-hetrec --runs 400 --core-dumps
    python benchmarks/stress_exit.py --normal-exit        # scripts exit the old way (TASTEMAP_NORMAL_EXIT=1)
    python benchmarks/stress_exit.py --script ingest=/tmp/ingest.py   # try a changed script

Run with the project's interpreter (``.venv/bin/python``): it runs ``snakemake`` next to it.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import pickle
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
BAD = REPO / "tests" / "data" / "bad"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
PREAMBLE_END = "######## snakemake preamble end #########"
#: What Snakemake's shell sets to the job's thread count (snakemake/shell.py).
THREAD_VARS = ("OMP_NUM_THREADS", "GOTO_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
INGEST = {  # job name -> config of the ingest setup
    "ingest-hetrec": {"format": "hetrec-2k", "path": BAD / "hetrec-2k" / "user_artists.dat",
                      "tracks_path": BAD / "hetrec-2k" / "artists.dat"},
    "ingest-lastfm1k-gz": {"format": "lastfm-1k", "path": BAD / "lastfm-1k" / "gzip.tsv"},
}
FIT_FAMILIES = ["als", "bpr", "popularity", "ease", "itemknn", "userknn", "mf", "lda", "item2vec",
                "sgns", "twotower"]
DEFAULT_FITS = ["als", "bpr", "popularity", "ease", "itemknn"]


@dataclass
class Job:
    """One job file made by Snakemake and what a run of it needs."""

    name: str
    setup_dir: Path  # where Snakemake ran it once: the inputs are there
    path: Path  # the job file: Snakemake's preamble + the script's source
    inputs: list[str]
    outputs: list[str]
    threads: int
    results: list[tuple[int | None, str, float, str]] = field(default_factory=list)


def snakemake(workdir: Path, config: dict, targets: list[str], cores: int = 1,
              threads: int | None = None) -> None:
    """Run snakemake once in ``workdir`` with ``config``, keeping the job files it writes
    (``threads``: the ingest and fit jobs get that many instead of the rules' choice)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(json.dumps(config, indent=1, default=str))  # JSON is YAML
    cmd = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(workdir / "config.yaml"), "--cores", str(max(cores, threads or 0)),
           "--skip-script-cleanup", *targets]
    if threads:
        cmd += ["--set-threads", f"ingest={threads}", f"fit_model={threads}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"setup failed in {workdir}: {' '.join(cmd)}\n{proc.stdout[-3000:]}"
                 f"{proc.stderr[-3000:]}")


def read_job_file(path: Path):
    """(preamble text, unpickled snakemake object) of a job file Snakemake wrote."""
    text = path.read_text()
    preamble = text[: text.index(PREAMBLE_END) + len(PREAMBLE_END)] + "\n"
    for node in ast.walk(ast.parse(preamble)):
        if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "loads"
                and node.args and isinstance(node.args[0], ast.Constant)):
            return preamble, pickle.loads(node.args[0].value)
    raise ValueError(f"{path}: no pickled snakemake object in the preamble")


def setup(workdir: Path, only: set[str], fits: list[str], scripts: dict[str, Path],
          threads: int | None = None) -> list[Job]:
    """Run the setup workflows; return the jobs to stress."""
    made: list[tuple[str, Path, Path]] = []  # (job name, setup dir, job file)
    for name, inp in INGEST.items():
        if name not in only:
            continue
        d = workdir / "setup" / name
        dataset = name.replace("ingest-", "")
        snakemake(d, {"dataset": dataset, "seeds": [0], "entities": ["artist"],
                      "input": {k: str(v) for k, v in inp.items()}},
                  [f"results/{dataset}/data/listens.parquet"], threads=threads)
        made += [(name, d, f) for f in (d / ".snakemake" / "scripts").glob("*.ingest.py")]
    wanted = [m for m in fits if f"fit-{m}" in only]
    if wanted:
        d = workdir / "setup" / "fits"
        tiny = yaml.safe_load((REPO / "tests" / "config" / "tiny.yaml").read_text())
        config = {"dataset": "stress", "seeds": [0], "entities": ["artist"],
                  "input": {"format": "simulate"},
                  "simulate": tiny["simulate"], "prepare": tiny["prepare"],
                  "explore": {"enabled": False}, "topics": {"enabled": False},
                  "split": {"validation": False},
                  "models": {m: ({"enabled": True} if m in wanted else {"enabled": False})
                             for m in FIT_FAMILIES}}
        if "mf" in wanted:
            config["models"]["mf"] = {"enabled": True, "factors": [8], "epochs": 3}
        snakemake(d, config, ["--until", "fit_model"], cores=2, threads=threads)
        made += [(None, d, f) for f in (d / ".snakemake" / "scripts").glob("*.fit_model.py")]
    jobs: dict[str, Job] = {}
    for name, d, f in sorted(made, key=lambda m: m[2].stat().st_mtime):  # a rerun's newest wins
        preamble, sm = read_job_file(f)
        name = name or f"fit-{sm.wildcards.model}"
        if name not in only:
            continue
        script = f.name.split(".", 1)[1]  # tmpXXXX.fit_model.py -> fit_model.py
        source = scripts.get(script.removesuffix(".py"), REPO / "scripts" / script)
        path = workdir / "jobs" / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(preamble + Path(source).read_text())
        jobs[name] = Job(name, d, path, [str(p) for p in sm.input],
                         [str(p) for p in sm.output] + [str(p) for p in sm.log], int(sm.threads))
    return [jobs[n] for n in sorted(jobs)]


def check_outputs(run_dir: Path, outputs: list[str]) -> str:
    """'' when every output exists and reads back, else what is wrong."""
    import pyarrow.parquet as pq

    for out in outputs:
        p = run_dir / out
        try:
            if not p.is_file():
                return f"missing output {out}"
            if p.suffix == ".parquet":
                pq.read_metadata(p)
            elif p.suffix == ".json":
                json.loads(p.read_text())
            elif p.suffix == ".npz" and zipfile.ZipFile(p).testzip() is not None:
                return f"corrupt {out}"
        except Exception as exc:  # noqa: BLE001 - any failure to read back is the finding
            return f"unreadable output {out}: {type(exc).__name__}: {exc}"
    return ""


def run_once(job: Job, i: int, env: dict, runs_dir: Path, timeout: float, keep: bool) -> None:
    """One run of ``job`` in a fresh process and directory; appends to ``job.results``."""
    d = runs_dir / job.name / f"{i:04d}"
    for rel in job.inputs:  # relative inputs are linked from the setup directory
        if not os.path.isabs(rel):
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            (d / rel).symlink_to(job.setup_dir / rel)
    for rel in job.outputs:  # Snakemake makes the output and log folders before the job
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
    env = dict(env, **{v: str(job.threads) for v in THREAD_VARS})

    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, str(job.path)], cwd=d, env=env, capture_output=True,
                              text=True, errors="replace", timeout=timeout)
        status, stderr = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        status, stderr = None, f"timeout after {timeout:.0f} s\n{exc.stderr or ''}"
    wall = time.monotonic() - start
    problem = ""
    if status is None:
        problem = "timeout"
    elif status < 0:
        problem = f"signal {-status}"
    elif status:
        problem = f"exit status {status}"
    elif "terminate called" in stderr:
        problem = "'terminate called' in stderr"
    else:
        problem = check_outputs(d, job.outputs)
    job.results.append((status, problem, wall, stderr.strip()[-600:] + f"\n(run directory {d})"))
    if not problem and not keep:
        shutil.rmtree(d, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=300, help="runs of each job (default 300)")
    ap.add_argument("--fit-runs", type=int, help="runs of each fit job (default: --runs)")
    ap.add_argument("--jobs", type=int, default=4, help="runs at once (default 4)")
    ap.add_argument("--load-processes", type=int, default=os.cpu_count() or 2,
                    help="busy loops beside the runs (default: one per core)")
    ap.add_argument("--fit-models", nargs="+", default=DEFAULT_FITS, choices=FIT_FAMILIES)
    ap.add_argument("--only", nargs="+", help="job names (default: all), e.g. ingest-hetrec fit-als")
    ap.add_argument("--normal-exit", action="store_true",
                    help="set TASTEMAP_NORMAL_EXIT=1: scripts exit through the interpreter's teardown")
    ap.add_argument("--script", action="append", default=[], metavar="RULE_SCRIPT=PATH",
                    help="run PATH instead of scripts/RULE_SCRIPT.py (e.g. ingest=/tmp/ingest.py)")
    ap.add_argument("--workdir", type=Path, help="setup and run directories (default: a new temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep every run directory and the workdir")
    ap.add_argument("--core-dumps", action="store_true", help="core files in abnormal runs' dirs")
    ap.add_argument("--threads", type=int,
                    help="threads of the ingest and fit jobs (default: the rules' choice, 1 on "
                         "these small inputs); Arrow's, torch's and OpenMP's pools get as many")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per run (default 600)")
    args = ap.parse_args()

    names = list(INGEST) + [f"fit-{m}" for m in args.fit_models]
    only = set(args.only or names)
    if only - set(names):
        ap.error(f"unknown jobs {sorted(only - set(names))}; known: {names}")
    scripts = dict(s.split("=", 1) for s in args.script)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="tastemap-stress-exit-"))
    t0 = time.monotonic()
    print(f"setup in {workdir} ...", file=sys.stderr, flush=True)
    jobs = setup(workdir, only, args.fit_models, {k: Path(v) for k, v in scripts.items()},
                 args.threads)
    setup_s = time.monotonic() - t0

    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "tastemap" / "numba"))
    if args.core_dumps:  # the runs inherit the limit (the kernel's core_pattern decides where)
        hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
    if args.normal_exit:
        env["TASTEMAP_NORMAL_EXIT"] = "1"
    else:
        env.pop("TASTEMAP_NORMAL_EXIT", None)
    fit_runs = args.fit_runs if args.fit_runs is not None else args.runs
    tasks = [(job, i) for i in range(max(args.runs, fit_runs)) for job in jobs
             if i < (fit_runs if job.name.startswith("fit-") else args.runs)]
    loaders = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(args.load_processes)]
    done = threading.Event()

    def progress():
        while not done.wait(60):
            n = sum(len(j.results) for j in jobs)
            bad = sum(1 for j in jobs for r in j.results if r[1])
            print(f"  {n}/{len(tasks)} runs, {bad} abnormal, {time.monotonic() - t1:.0f} s",
                  file=sys.stderr, flush=True)

    t1 = time.monotonic()
    threading.Thread(target=progress, daemon=True).start()
    try:
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda t: run_once(t[0], t[1], env, workdir / "runs", args.timeout,
                                             args.keep), tasks))
    finally:
        done.set()
        for p in loaders:
            p.kill()
            p.wait()
    runs_s = time.monotonic() - t1

    import pyarrow

    how_exit = "normal (TASTEMAP_NORMAL_EXIT=1)" if args.normal_exit else "as the scripts say"
    threads = ",".join(sorted({str(j.threads) for j in jobs}))
    print(f"\n{len(tasks)} runs ({args.jobs} at once, {args.load_processes} busy loops, "
          f"{threads} thread(s) per job, "
          f"{os.cpu_count()} cores, exit: {how_exit}"
          f"{', scripts ' + str(scripts) if scripts else ''}) in {runs_s:.0f} s "
          f"(setup {setup_s:.0f} s); Python {platform.python_version()}, pyarrow {pyarrow.__version__}\n")
    print("| job | runs | abnormal | how | median s/run | first abnormal run's stderr |")
    print("|---|---:|---:|---|---:|---|")
    total_bad = 0
    for job in jobs:
        bad = [r for r in job.results if r[1]]
        total_bad += len(bad)
        how = ", ".join(f"{k} x{v}" for k, v in Counter(r[1] for r in bad).items())
        first = bad[0][3].replace("\n", " / ").replace("|", "\\|") if bad else ""
        print(f"| {job.name} | {len(job.results)} | {len(bad)} | {how} | "
              f"{statistics.median(r[2] for r in job.results):.1f} | {first} |")
    print(f"| **all** | {len(tasks)} | **{total_bad}** | | | |")
    if not total_bad and not args.keep and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main())
