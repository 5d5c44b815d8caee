"""tastemap.core.layout is the one place result paths are written: the results guide lists exactly
its files, and its helpers fill, glob and parse the templates consistently."""
from __future__ import annotations

import re
import subprocess

import pytest
from conftest import REPO

from tastemap.core import layout as L

RESULTS_DOC = REPO / "docs" / "results.md"


def documented_templates(text: str) -> set[str]:
    """The backticked paths in the first cell of every table row of the results guide."""
    found = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            found.update(t for t in re.findall(r"`([^`]+)`", first)
                         if "/" in t and re.fullmatch(r"[\w{}./-]+", t))
    return found


def test_results_guide_lists_exactly_the_layout():
    documented = documented_templates(RESULTS_DOC.read_text())
    layout = set(L.templates().values())
    assert documented - layout == set(), "documented but not in tastemap.core.layout"
    assert layout - documented == set(), "in tastemap.core.layout but not in docs/results.md"


def test_templates_are_distinct_and_relative():
    templates = L.templates()
    assert len(set(templates.values())) == len(templates)
    assert all(not t.startswith(("/", "results/")) for t in templates.values())


@pytest.mark.parametrize("name", sorted(L.templates()))
def test_path_glob_and_parse_agree(name):
    template = L.templates()[name]
    names = re.findall(r"\{(\w+)\}", template)
    values = {w: f"{w}x1" for w in names}
    filled = L.path(template, **values)
    assert "{" not in filled
    assert L.parse(template, filled) == values
    assert re.fullmatch(L.glob(template).replace(".", r"\.").replace("*", "[^/]*"), filled)


def test_no_result_template_is_typed_outside_the_layout():
    """The distinctive path pieces of the templates appear in no rule, script or library
    module but tastemap/core/layout.py (docs are free to show them)."""
    pieces = ["seed{seed}/{fit}", "/{variant}/seed", "matrices/user_{entity}", "topics/lda/{",
              "evaluate/{entity}", "explore/{entity}", "split/seed{seed}", "model.joblib"]
    for piece in pieces:
        hits = subprocess.run(["git", "grep", "-l", "-F", piece, "--", "Snakefile", "workflow",
                               "scripts", "src", "tests/conftest.py"],
                              cwd=REPO, capture_output=True, text=True).stdout.split()
        assert set(hits) <= {"src/tastemap/core/layout.py"}, (piece, hits)
