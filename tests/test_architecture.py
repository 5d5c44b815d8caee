"""Every workflow script has one shape (docs/architecture.md, "Three rooms"): a module docstring
naming its rule(s), imports, ``def main(snakemake):`` and exactly the guard below; it imports
no other script (shared logic lives in the library) and nothing outside ``tastemap`` under a
``tastemap.`` name but through ``from tastemap... import ...``."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "scripts").glob("*.py"))
GUARD = 'if __name__ == "__main__" and "snakemake" in globals():\n    main(snakemake)  # noqa: F821'


def rules_by_script() -> dict[str, set[str]]:
    """Script file name -> the rules whose ``script:`` directive names it."""
    found: dict[str, set[str]] = {}
    rule = None
    lines = iter([*(REPO / "Snakefile").read_text().splitlines(),
                  *(line for f in sorted((REPO / "workflow").rglob("*.smk"))
                    for line in f.read_text().splitlines())])
    for line in lines:
        m = re.match(r"\s*rule (\w+)", line)
        if m:
            rule = m.group(1)
        if re.match(r"\s*script:", line):
            target = line.split(":", 1)[1].strip() or next(lines).strip()
            found.setdefault(Path(target.strip("\"'")).name, set()).add(rule)
    return found


def test_every_script_belongs_to_a_rule():
    used = rules_by_script()
    assert SCRIPTS and {p.name for p in SCRIPTS} == set(used), (sorted(used), SCRIPTS)


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_script_shape(path):
    text = path.read_text()
    tree = ast.parse(text)
    doc = ast.get_docstring(tree)
    assert doc, f"{path.name}: no module docstring"
    for rule in rules_by_script()[path.name]:
        assert re.search(rf"\b{rule}\b", doc), f"{path.name}: docstring does not name rule {rule}"
    body = tree.body[1:]
    *imports, main, guard = body
    assert all(isinstance(node, ast.Import | ast.ImportFrom) for node in imports), path.name
    assert isinstance(main, ast.FunctionDef) and main.name == "main", path.name
    assert [a.arg for a in main.args.args] == ["snakemake"], path.name
    assert text.rstrip("\n").endswith(GUARD), f"{path.name}: not ending in the guard"
    assert isinstance(guard, ast.If), path.name


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_script_imports_no_script(path):
    scripts = {p.stem for p in SCRIPTS}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
            assert not any(n == "tastemap" or n.startswith("tastemap.") for n in names), \
                f"{path.name}: use 'from tastemap... import ...'"
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        assert not {n.split(".")[0] for n in names} & scripts, f"{path.name} imports a script"
