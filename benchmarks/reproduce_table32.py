"""Write the reproduction of Table 32 (Ferrari Dacrema et al., TOIS 2021) into
docs/reproductions.md from a finished run of config/repro-ml1m-spectralcf.yaml.

Two tables, between ``<!-- table32:begin -->`` and ``<!-- table32:end -->``:

1. the workflow's own ``evaluate/artist/published.md`` (published | tastemap with the paper's
   hyper-parameters | difference | tastemap with its own validation search);
2. with ``--authors CSV`` (``benchmarks/dacrema_reference.py``): the authors' code on the same
   files beside the published numbers (mean over the seeds it ran).

Usage::

    snakemake --cores all --configfile config/repro-ml1m-spectralcf.yaml
    python benchmarks/reproduce_table32.py --results results/repro-ml1m-spectralcf \\
        --authors dacrema-ml1m-original.csv --update-docs
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
from pathlib import Path

import pandas as pd

from tastemap.core import layout as L
from tastemap.evaluate.published import read_published

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "reproductions.md"
PUBLISHED = REPO / "config" / "published" / "dacrema2021-table32-ml1m-original.csv"
#: their model names -> the published table's models
THEIRS = {"TopPop": "popularity", "ItemKNNCF_cosine": "itemknn", "UserKNNCF_cosine": "userknn",
          "UserKNNCF_cosine_binaryURMscoring": "userknn",
          "ItemKNNCF_cosine_binaryURMscoring": "itemknn", "P3alpha": "p3alpha",
          "RP3beta": "rp3beta", "EASE_R": "ease", "SLIMElasticNet": "slim",
          "PureSVD": "puresvd", "IALS": "als", "MF_BPR": "bpr"}


def _commit() -> str:
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip() or "unknown"


def authors_table(path: Path) -> str:
    """Published beside the authors' code (mean over seeds, with the number of seeds)."""
    theirs = pd.read_csv(path)
    published = read_published(PUBLISHED).set_index("model")
    metrics = [c for c in theirs.columns if c[:4] in ("REC@", "MAP@")]
    ours = {m: m.replace("REC@", "recall@").replace("MAP@", "map@") for m in metrics}
    head = ["their model", "seeds"] + [f"{m} published / theirs" for m in metrics]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, rows in theirs.groupby("model", sort=False):
        paper = published.loc[THEIRS[name]]
        cells = [f"`{name}`", str(len(rows))]
        for m in metrics:
            mean = rows[m].mean()
            same = round(mean, 4) == round(paper[ours[m]], 4)
            cell = f"{paper[ours[m]]:.4f} / {mean:.4f}"
            cells.append(f"**{cell}**" if same else cell)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def section(results: Path, authors: Path | None) -> str:
    machine = f"{platform.node()}: {len(os.sched_getaffinity(0))} cores, " \
              f"Python {platform.python_version()}"
    text = [f"Measured {datetime.date.today().isoformat()} at commit `{_commit()}` ({machine}).",
            "", "Command: `snakemake --cores 2 --configfile config/repro-ml1m-spectralcf.yaml`, "
            "then `python benchmarks/reproduce_table32.py --results "
            f"results/{results.name}" + (" --authors <dacrema_reference.py CSV>"
                                          if authors is not None else "")
            + " --update-docs`.", "",
            (results / L.path(L.PUBLISHED_MD, entity="artist")).read_text(encoding="utf-8")]
    if authors is not None:
        text += ["", "The authors' code on the same two files (`benchmarks/dacrema_reference.py`; "
                 "published / theirs, mean over the seeds run; **bold** where equal at four "
                 "decimals):", "", authors_table(authors)]
    return "\n".join(text)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, required=True)
    ap.add_argument("--authors", type=Path, help="CSV of benchmarks/dacrema_reference.py")
    ap.add_argument("--update-docs", action="store_true")
    args = ap.parse_args(argv)
    body = section(args.results, args.authors)
    if not args.update_docs:
        print(body)
        return
    doc = DOC.read_text(encoding="utf-8")
    begin, end = "<!-- table32:begin -->", "<!-- table32:end -->"
    head, rest = doc.split(begin)
    _, tail = rest.split(end)
    DOC.write_text(f"{head}{begin}\n{body}\n{end}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
