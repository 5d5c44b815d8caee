"""The architecture's rules that a parser can check (docs/architecture.md).

* Every workflow script has one shape: a module docstring naming its rule(s), imports,
  ``def main(snakemake):`` and exactly the guard below; it imports no other script (shared
  logic lives in the library) and imports tastemap only as ``from tastemap... import ...``.
* No library function is longer than 60 lines unless a ``# long:`` comment in it says why.
* Nothing in the repository points outside it (no design file or shared folder beside it).
"""
from __future__ import annotations

import ast
import re
import subprocess
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


def long_functions(root: Path, limit: int = 60) -> list[str]:
    """``path:line name (n lines)`` of every function under ``root`` longer than ``limit`` lines
    whose body has no ``# long:`` comment saying why."""
    found = []
    for path in sorted(root.rglob("*.py")):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = lines[node.lineno - 1:node.end_lineno]
                if len(body) > limit and not any("# long:" in line for line in body):
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} "
                                 f"({len(body)} lines)")
    return found


def test_no_long_library_function(tmp_path):
    assert long_functions(REPO / "src") == []
    # the check itself: a 61-line function is found, the same with a reason is not
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    (tmp_path / "m.py").write_text(f"def f():\n{body}\n\ndef g():\n    # long: a kernel\n{body}")
    assert long_functions(tmp_path) == ["m.py:1 f (61 lines)"]


def test_nothing_points_outside_the_repository():
    # the names are spelled in pieces so that this file does not match itself
    outside = ["DESI" + "GN", "../sha" + "red"]
    proc = subprocess.run(["git", "grep", "-n", "-F", "-e", outside[0], "-e", outside[1]],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # 1: no match (0: found, 128: error)
