"""Run the whole workflow at real scale and write per-rule time and memory to docs/benchmarks.md.

Generates a Last.fm-360K-shaped (17.5M rows), Last.fm-1K-shaped (19M scrobbles) or
MSD-taste-profile-shaped (48.5M triplets and the track list) log with ``benchmarks/generate.py``,
runs ``snakemake`` with the ready config of that dataset (``config/lastfm-360k.yaml``,
``config/lastfm-1k.yaml``, ``config/msd.yaml``, pointed at the generated files), and
collects every job's ``benchmark:`` file (wall time, peak RSS) into a Markdown table.

The run has three timed phases, each one ``snakemake`` call on a fresh results directory
(``--one-call``: phases 1 and 2 as one call, the way a user runs the config):

1. ``models evaluate`` - ingest -> prepare -> matrices -> split -> every enabled recommender
   (full and train fits, recommendations, similar items, explanations, maps) -> the evaluation
   of all users (the target of issue 8: under 10 minutes at Last.fm-360K size);
2. everything else of the default target (explore and topics, on the samples the config sets);
3. ``snakemake --report`` of the whole run (one HTML file).

Usage::

    python benchmarks/run_scale.py 360k                      # generate + run + report
    python benchmarks/run_scale.py 1k --workdir /tmp/bench   # where data and results go
    python benchmarks/run_scale.py 360k --skip-generate      # reuse the generated file

The table goes to ``<workdir>/<shape>.md``; ``--update-docs`` also replaces the section of that
shape in ``docs/benchmarks.md`` (between ``<!-- scale:<shape>:begin -->`` and ``...:end -->``).
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHAPES = {
    "360k": ("config/lastfm-360k.yaml", "usersha1-artmbid-artname-plays.tsv"),
    "1k": ("config/lastfm-1k.yaml", "userid-timestamp-artid-artname-traid-traname.tsv"),
    "msd": ("config/msd.yaml", "train_triplets.txt"),  # generate.py writes unique_tracks.txt beside it
}


def commit() -> str:
    """The checkout's commit (short hash), ``+changes`` when the tree differs from it."""
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", str(REPO), "diff", "--quiet", "HEAD", "--"]).returncode
    return f"`{head}`" + (" +changes" if dirty else "")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 2**20
    except OSError:
        mem = float("nan")
    return (f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} "
            f"{platform.release()}, Python {platform.python_version()}")


def requested(logs: Path) -> dict[str, tuple[int, int]]:
    """``{benchmark file: (mem_mb, runtime)}`` as each job asked for them (Snakemake's own logs
    of the run: the ``benchmark:`` and ``resources:`` lines of every job)."""
    out, bench = {}, None
    for log in sorted(logs.glob("*.snakemake.log")):
        for line in log.read_text().splitlines():
            line = line.strip()
            if line.startswith("benchmark: "):
                bench = line.split(": ", 1)[1]
            elif line.startswith("resources: ") and bench is not None:
                res = dict(kv.split("=", 1) for kv in line.split(": ", 1)[1].split(", ") if "=" in kv)
                out[bench] = (int(res.get("mem_mb", 0)), int(res.get("runtime", 0)))
                bench = None
            elif line.startswith(("rule ", "localrule ")):
                bench = None
    return out


def collect(results: Path, logs: Path | None = None) -> pd.DataFrame:
    """One row per benchmarked job: job (path below benchmarks/), seconds, max RSS in MB, and
    the ``mem_mb`` / ``runtime`` (minutes) the job requested (from ``logs``, if given)."""
    asked = requested(logs) if logs is not None and logs.is_dir() else {}
    rows = []
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        b = pd.read_csv(tsv, sep="\t")
        mem_mb, runtime = next((v for k, v in asked.items() if tsv.as_posix().endswith(k)),
                               (None, None))
        rows.append({"job": str(tsv.relative_to(results / "benchmarks").with_suffix("")),
                     "s": float(b["s"].iloc[0]), "max_rss_mb": float(b["max_rss"].iloc[0]),
                     "mem_mb": mem_mb, "runtime": runtime})
    return pd.DataFrame(rows)


def table(df: pd.DataFrame) -> str:
    """Markdown, slowest job first; the requested ``mem_mb`` / ``runtime`` beside the measured."""
    df = df.sort_values("s", ascending=False)
    lines = ["| job | wall time (s) | peak RSS (MB) | mem_mb requested | runtime requested (min) |",
             "|---|---:|---:|---:|---:|"]
    for r in df.itertuples():
        mem = "" if pd.isna(r.mem_mb) else f"{r.mem_mb:.0f}"
        rt = "" if pd.isna(r.runtime) else f"{r.runtime:.0f}"
        lines.append(f"| {r.job} | {r.s:.1f} | {r.max_rss_mb:.0f} | {mem} | {rt} |")
    return "\n".join(lines)


def run_phase(cmd: list[str], name: str) -> float:
    print(f"== {name}: {' '.join(cmd)}", flush=True)
    start = time.monotonic()
    subprocess.run(cmd, check=True)
    wall = time.monotonic() - start
    print(f"== {name}: {wall:.1f} s", flush=True)
    return wall


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("shape", choices=sorted(SHAPES))
    ap.add_argument("--workdir", type=Path, default=REPO / "benchmarks" / "out")
    ap.add_argument("--cores", default="2")
    ap.add_argument("--skip-generate", action="store_true")
    ap.add_argument("--keep-results", action="store_true",
                    help="do not delete earlier results first (times then cover only what reran)")
    ap.add_argument("--update-docs", action="store_true")
    ap.add_argument("--one-call", action="store_true",
                    help="run the default target in one snakemake call (as a user would), not "
                         "in two timed phases; the report is still its own call")
    ap.add_argument("snakemake_args", nargs="*", help="extra arguments for snakemake (after --)")
    args = ap.parse_args(argv)

    config, filename = SHAPES[args.shape]
    work = (args.workdir / args.shape).resolve()
    data = work / "resources" / filename
    data.parent.mkdir(parents=True, exist_ok=True)
    if not args.skip_generate or not data.exists():
        subprocess.run([sys.executable, str(REPO / "benchmarks" / "generate.py"), args.shape,
                        str(data)], check=True)

    input_override = f"input={{path: {data}}}"
    if args.shape == "msd":
        input_override = f"input={{path: {data}, tracks_path: {data.with_name('unique_tracks.txt')}}}"
    dataset = f"bench-{args.shape}"
    results = work / "results" / dataset
    if not args.keep_results:
        shutil.rmtree(results, ignore_errors=True)
        shutil.rmtree(work / ".snakemake", ignore_errors=True)

    def snakemake(*targets_and_options: str) -> list[str]:
        # --configfile and --config take every word after them: targets go first
        return [str(Path(sys.executable).parent / "snakemake"), *targets_and_options,
                "--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
                "--cores", args.cores, *args.snakemake_args, "--configfile", str(REPO / config),
                "--config", f"dataset={dataset}", input_override]

    stamp = commit()  # of the code that runs, before anything is committed meanwhile
    if args.one_call:
        phases = {"the whole default target, one `snakemake` call": run_phase(snakemake(), "all")}
    else:
        phases = {
            "ingest -> models -> evaluation": run_phase(snakemake("models", "evaluate"), "core"),
            "explore + topics (the rest of the default target)": run_phase(snakemake(), "rest"),
        }
    phases["HTML report"] = run_phase(snakemake("--report", str(results / "report.html")), "report")
    df = collect(results, work / ".snakemake" / "log")
    lines = ["| phase | wall time |", "|---|---:|"]
    lines += [f"| {name} | {wall / 60:.1f} min ({wall:.0f} s) |" for name, wall in phases.items()]
    flags = " --one-call" if args.one_call else ""
    body = (f"Machine: {machine()}.\n\nCommand: `python benchmarks/run_scale.py {args.shape}{flags}` "
            f"(snakemake --cores {args.cores} --configfile {config}), {time.strftime('%Y-%m-%d')}, "
            f"commit {stamp}. "
            f"{len(df)} benchmarked jobs, largest peak RSS {df['max_rss_mb'].max() / 1024:.2f} GiB.\n\n"
            + "\n".join(lines) + f"\n\nPer job (from the `benchmark:` files):\n\n{table(df)}\n")
    (work / f"{args.shape}.md").write_text(body)
    print(body)
    if args.update_docs:
        docs = REPO / "docs" / "benchmarks.md"
        text = docs.read_text()
        begin, end = f"<!-- scale:{args.shape}:begin -->", f"<!-- scale:{args.shape}:end -->"
        if begin not in text:
            raise SystemExit(f"{docs}: no {begin} marker")
        text = text.split(begin)[0] + begin + "\n" + body + end + text.split(end, 1)[1]
        docs.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
