"""`snakemake --report`: every report() output has a caption that exists; the report of the tiny
run holds exactly the outputs marked for it, every figure the run drew, and the small tables."""
from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from conftest import REPO, dry_run_outputs, run_snakemake

RULES = REPO / "workflow" / "rules"
REPORT_DIR = REPO / "workflow" / "report"
#: the small tables the report must carry (every file of these names the run made)
TABLES = ("ingest_stats.json", "prepare_stats.json", "stats.json", "clusters_metrics.csv",
          "summary.csv", "top_items.csv", "sweep.csv", "sweep_factors.csv", "leaderboard.csv",
          "selected.csv", "significance.csv", "likes_curve.csv", "popularity_groups.csv")
CATEGORIES = {"Data", "Maps", "Topics", "Models", "Evaluation"}


def smk_sources() -> dict[str, str]:
    """Source text of every rules file: report() calls stand in rule blocks and in the small
    helpers that build a job's many figure outputs."""
    return {smk.name: smk.read_text() for smk in sorted(RULES.glob("*.smk"))}


def report_calls(block: str) -> list[str]:
    """The ``report(...)`` expressions of some rules source (balanced parentheses)."""
    calls, start = [], 0
    while (m := re.compile(r"(?<![\w.])report\(").search(block, start)) is not None:
        i = m.start()
        depth, j = 0, i + len("report")
        while True:
            depth += {"(": 1, ")": -1}.get(block[j], 0)
            j += 1
            if depth == 0:
                break
        calls.append(block[i:j])
        start = j
    return calls


def test_every_report_output_has_an_existing_caption_and_category():
    calls = [(smk, call) for smk, text in smk_sources().items() for call in report_calls(text)]
    assert len(calls) >= 20
    used = set()
    for rule, call in calls:  # rule: the .smk file
        m = re.search(r'caption="\.\./report/([\w.]+\.rst)"', call)
        assert m, f"{rule}: report() without caption=\"../report/<x>.rst\": {call}"
        assert (REPORT_DIR / m.group(1)).exists(), f"{rule}: missing {m.group(1)}"
        used.add(m.group(1))
        cat = re.search(r'category="([^"]+)"', call)
        assert cat and cat.group(1) in CATEGORIES, f"{rule}: category of {call}"
        assert "labels=" in call, f"{rule}: report() without labels"
    orphans = {p.name for p in REPORT_DIR.glob("*.rst")} - used - {"workflow.rst"}
    assert not orphans, f"captions no rule uses: {orphans}"
    snakefile = (REPO / "Snakefile").read_text()
    assert 'report: "workflow/report/workflow.rst"' in snakefile


def _for_report(path: str) -> bool:
    """Whether a planned output belongs in the report: every figure and the small tables."""
    name = Path(path).name
    return name.endswith((".png", ".html")) or name in TABLES


def _embedded_json(html: str, var: str) -> dict:
    """The JSON object the report assigns to ``var`` (``var results = {...};``)."""
    start = html.index(f"var {var} = {{") + len(f"var {var} = ")
    return json.JSONDecoder().raw_decode(html, start)[0]


@pytest.mark.workflow
@pytest.mark.usefixtures("tiny_run_to_myself")
def test_report_zip_holds_every_marked_output(tiny_run, tmp_path):
    out = tmp_path / "report.zip"
    run_snakemake(tiny_run, "--report", str(out))
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        html = zf.read(next(n for n in names if n.endswith("/report.html"))).decode()
    raw = [n for n in names if re.search(r"/data/raw/[^/]+/[^/]+$", n)]
    in_report = Counter(Path(n).name for n in raw)

    # 1. every figure and small table the whole DAG plans (--forceall) is in the report, once:
    #    the rules wrap each in report() (several per job where a job draws many figures)
    planned = dry_run_outputs(tiny_run, "--forceall")
    marked = Counter(Path(p).name for p in planned if _for_report(p))
    assert Counter(in_report) == marked, (sorted(in_report.items()), sorted(marked.items()))

    # 2. every figure the run drew is in the report (results/, not logs or benchmarks), the PNGs
    #    and the interactive HTML maps
    res = tiny_run / "results" / "tiny"
    # placed.* come from the explore test that runs place_users in this shared run (not `all`)
    made = [p for p in res.rglob("*") if p.is_file() and not p.name.startswith("placed.")
            and not {"logs", "benchmarks"} & set(p.relative_to(res).parts)]
    figures = Counter(p.name for p in made if p.suffix in (".png", ".html"))
    assert figures and Counter({k: v for k, v in in_report.items()
                                if k.endswith((".png", ".html"))}) == figures
    assert {"map.html", "items_map.html", "map_users.html", "map_items.html"} <= set(figures)

    # 3. the small tables: every file of those names, nothing large (parquet, npz, joblib)
    tables = Counter(p.name for p in made if p.name in TABLES)
    assert Counter({k: v for k, v in in_report.items()
                    if not k.endswith((".png", ".html"))}) == tables
    assert not [n for n in in_report if n.endswith((".parquet", ".npz", ".joblib"))]

    # 4. every category is there, and no two results of a subcategory share their labels
    #    (the report's table would show only one of them)
    categories = _embedded_json(html, "categories")
    results = _embedded_json(html, "results")
    assert set(categories) == CATEGORIES
    for cat, subcats in categories.items():
        for sub, paths in subcats.items():
            keys = [tuple(sorted(results[p]["labels"].items())) for p in paths]
            dupes = [k for k, n in Counter(keys).items() if n > 1]
            assert not dupes, f"{cat}/{sub}: results with the same labels {dupes}"
    # captions were rendered with the wildcards filled in
    leaderboard = next(r for p, r in results.items() if p.endswith("seed0/leaderboard.csv")
                       and "/valid/" not in p)
    assert "seed 0" in leaderboard["caption"] and "{{" not in leaderboard["caption"]
