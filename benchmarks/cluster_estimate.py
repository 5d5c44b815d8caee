"""Expected wall time of a finished run on N cluster nodes, from its own jobs (docs/cluster.md).

Reads the Snakemake logs of one finished run (``<workdir>/.snakemake/log/*.snakemake.log``: every
job's rule, inputs, outputs, threads and benchmark file) and each job's measured wall time (its
``benchmark:`` file; a job without one takes the time between its start and finish lines in the
log). Jobs depend on the jobs that wrote their inputs. It then replays the run by list
scheduling - whenever cores are free, start the ready job that heads the longest remaining chain
of work - on N nodes of C cores, each job on one node with its ``threads``, every cluster job
after a queue wait of W seconds (``localrules`` jobs run at once, on the login node), and prints
the makespan for each N. With N = 1, C = the local machine's cores and W = 0 it should come
close to the measured local run (the check printed first).

    python benchmarks/cluster_estimate.py WORKDIR --cores-per-node 2 --nodes 1 2 4 8 16 --wait 0 60

A job's time is taken as measured on the local machine: nodes of another speed scale it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import heapq
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

STAMP = re.compile(r"\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]")


@dataclass
class Job:
    jobid: int
    rule: str
    local: bool
    threads: int = 1
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    benchmark: str | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    seconds: float = 0.0


def parse_logs(workdir: Path, logs: list[Path] | None = None) -> dict[int, Job]:
    """Every job of the run's Snakemake logs (``logs``, default all of them; the last log wins
    for a job id seen twice)."""
    jobs: dict[int, Job] = {}
    for log in logs or sorted((workdir / ".snakemake" / "log").glob("*.snakemake.log")):
        stamp, job = None, None
        for line in log.read_text().splitlines():
            if m := STAMP.match(line):
                stamp = dt.datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
            elif m := re.match(r"(local)?rule (\w+):", line):
                job = Job(-1, m.group(2), bool(m.group(1)))
                job.start = stamp
            elif job is not None and (m := re.match(r"\s+(\w+): (.*)", line)):
                key, value = m.groups()
                if key == "jobid":
                    job.jobid = int(value)
                    jobs[job.jobid] = job
                elif key in ("input", "output"):
                    setattr(job, f"{key}s", [v.strip() for v in value.split(",")])
                elif key == "threads":
                    job.threads = int(value)
                elif key == "benchmark":
                    job.benchmark = value.strip()
            elif m := re.match(r"Finished jobid: (\d+)", line):
                if int(m.group(1)) in jobs:
                    jobs[int(m.group(1))].end = stamp
                job = None
    for j in jobs.values():
        bench = workdir / j.benchmark if j.benchmark else None
        if bench is not None and bench.exists():
            j.seconds = float(pd.read_csv(bench, sep="\t")["s"].iloc[0])
        elif j.start and j.end:
            j.seconds = (j.end - j.start).total_seconds()
    return {i: j for i, j in jobs.items() if j.rule != "all"}


def dependencies(jobs: dict[int, Job]) -> dict[int, set[int]]:
    """For each job, the jobs that wrote one of its inputs."""
    writer = {out: j.jobid for j in jobs.values() for out in j.outputs}
    return {j.jobid: {writer[f] for f in j.inputs if f in writer} - {j.jobid} for j in jobs.values()}


def chain(jobs: dict[int, Job], deps: dict[int, set[int]]) -> dict[int, float]:
    """Longest remaining path of work from each job (its own time included): the priority."""
    children: dict[int, list[int]] = {i: [] for i in jobs}
    for i, parents in deps.items():
        for p in parents:
            children[p].append(i)
    memo: dict[int, float] = {}

    def longest(i: int) -> float:
        if i not in memo:
            memo[i] = jobs[i].seconds + max((longest(c) for c in children[i]), default=0.0)
        return memo[i]

    return {i: longest(i) for i in jobs}


def makespan(jobs: dict[int, Job], deps: dict[int, set[int]], nodes: int, cores: int,
             wait: float, local: set[str]) -> float:
    """Seconds to run every job on ``nodes`` x ``cores`` by list scheduling (see the module);
    jobs of the ``local`` rules run at once in the Snakemake process, holding no node's cores."""
    prio = chain(jobs, deps)
    free = [cores] * nodes
    waiting = {i: set(d) for i, d in deps.items()}
    queued = [(0.0, i) for i, d in waiting.items() if not d]  # (may start at, job)
    running: list[tuple[float, int, int]] = []  # (ends at, job, node or -1)
    now, done = 0.0, 0
    while done < len(jobs):
        for at, i in sorted((q for q in queued if q[0] <= now), key=lambda q: -prio[q[1]]):
            need = 0 if jobs[i].rule in local else min(jobs[i].threads, cores)
            node = -1 if need == 0 else next((n for n in range(nodes) if free[n] >= need), None)
            if node is None:
                continue
            if node >= 0:
                free[node] -= need
            queued.remove((at, i))
            heapq.heappush(running, (now + jobs[i].seconds, i, node))
        now = min(([running[0][0]] if running else []) + [at for at, _ in queued if at > now])
        while running and running[0][0] <= now:
            _, i, node = heapq.heappop(running)
            if node >= 0:
                free[node] += min(jobs[i].threads, cores)
            done += 1
            for c, d in waiting.items():
                if i in d:
                    d.discard(i)
                    if not d:
                        queued.append((now + (0.0 if jobs[c].rule in local else wait), c))
    return now


def local_rules(snakefile: Path) -> set[str]:
    """The rules of the ``localrules:`` block of the Snakefile."""
    block = re.search(r"^localrules:\n((?:[ \t]+\w+,?\n)+)", snakefile.read_text(), re.M)
    return set(re.findall(r"\w+", block.group(1))) if block else set()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", type=Path, help="the directory snakemake ran in (holds .snakemake)")
    ap.add_argument("--cores-per-node", type=int, default=2)
    ap.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--wait", type=float, nargs="+", default=[0.0, 60.0],
                    help="queue wait of every cluster job, seconds")
    ap.add_argument("--snakefile", type=Path, default=Path(__file__).resolve().parents[1] / "Snakefile",
                    help="for its localrules (they run on the login node)")
    ap.add_argument("--log", type=Path, nargs="+",
                    help="these Snakemake logs only (default: every log of the workdir)")
    a = ap.parse_args(argv)
    local = local_rules(a.snakefile)
    jobs = parse_logs(a.workdir, a.log)
    deps = dependencies(jobs)
    starts = [j.start for j in jobs.values() if j.start]
    ends = [j.end for j in jobs.values() if j.end]
    measured = (max(ends) - min(starts)).total_seconds() if starts and ends else float("nan")
    work = sum(j.seconds * min(j.threads, a.cores_per_node) for j in jobs.values())
    path = max(chain(jobs, deps).values())
    print(f"{len(jobs)} jobs, {work / 60:.1f} core-min of measured job time, longest chain "
          f"{path / 60:.1f} min; the run itself took {measured / 60:.1f} min (first job start to "
          f"last job end, as logged)\n")
    print("| nodes x cores | " + " | ".join(f"queue wait {w:.0f} s" for w in a.wait) + " |")
    print("|---|" + "---:|" * len(a.wait))
    for n in a.nodes:
        cells = [f"{makespan(jobs, deps, n, a.cores_per_node, w, local) / 60:.1f} min"
                 for w in a.wait]
        print(f"| {n} x {a.cores_per_node} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
