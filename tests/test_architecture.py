"""The architecture's rules that a parser can check (docs/architecture.md).

* Every workflow script has one shape: a module docstring naming its rule(s), imports,
  ``def main(snakemake):`` and exactly the guard below; it imports no other script (shared
  logic lives in the library) and imports tastemap only as ``from tastemap... import ...``.
* A script is named after the rule that runs it (``scripts/<rule>.py``); a script several rules
  run is named after one of them, and each other one is a variant of that rule: named
  ``<rule>_<what>`` (``fit_model_valid``) or made by ``use rule <rule> as ...`` (``explore_tsne``).
* The rules never name a model family: no string in the Snakefile or a ``.smk`` file is a
  registered family's name (what a family gets comes from its class's declarations).
* No library function is longer than 60 lines unless a ``# long:`` comment in it says why, and
  no library module is longer than 500 lines.
* Nothing in the repository points outside it (no design file or shared folder beside it).
"""
from __future__ import annotations

import ast
import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "scripts").glob("*.py"))
GUARD = 'if __name__ == "__main__" and "snakemake" in globals():\n    main(snakemake)  # noqa: F821'


WORKFLOW_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow").rglob("*.smk"))]


def parse_rules(text: str) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Script file name -> the rules that run it (their ``script:`` directive, or the one of the
    rule a ``use rule A as B`` copies when B sets none), and rule -> the rule it copies."""
    found: dict[str, set[str]] = {}
    copies: dict[str, str] = {}
    rule = None
    lines = iter(text.splitlines())
    for line in lines:
        m = re.match(r"\s*(?:rule|checkpoint) (\w+)", line)
        use = re.match(r"\s*use rule (\w+) as (\w+)", line)
        if m or use:
            rule = m.group(1) if m else use.group(2)
        if use:
            copies[rule] = use.group(1)
        if re.match(r"\s*script:", line):
            target = line.split(":", 1)[1].strip() or next(lines).strip()
            found.setdefault(Path(target.strip("\"'")).name, set()).add(rule)
    own = {rule for rules in found.values() for rule in rules}
    for copy, original in copies.items():
        for rules in found.values():
            if original in rules and copy not in own:
                rules.add(copy)
    return found, copies


def rules_by_script() -> dict[str, set[str]]:
    """Script file name -> the rules of the workflow that run it."""
    return parse_rules("\n".join(f.read_text() for f in WORKFLOW_FILES))[0]


def test_every_script_belongs_to_a_rule():
    used = rules_by_script()
    assert SCRIPTS and {p.name for p in SCRIPTS} == set(used), (sorted(used), SCRIPTS)


def misnamed_scripts(text: str) -> list[str]:
    """``script: rules`` of every script not named after its rule, or run by a rule that is not
    a variant of the one it is named after (``<rule>_<what>`` or ``use rule <rule> as``)."""
    scripts, copies = parse_rules(text)
    bad = []
    for script, rules in sorted(scripts.items()):
        stem = script.removesuffix(".py")
        if stem not in rules or any(not r.startswith(f"{stem}_") and copies.get(r) != stem
                                    for r in rules - {stem}):
            bad.append(f"{script}: {', '.join(sorted(rules))}")
    return bad


def test_every_script_is_named_after_its_rule():
    assert misnamed_scripts("\n".join(f.read_text() for f in WORKFLOW_FILES)) == []
    # the check itself: a script named otherwise, or shared by an unrelated rule, is found
    rule = 'rule {}:\n    script:\n        "../../scripts/{}.py"\n'
    assert misnamed_scripts(rule.format("fit", "fit") + rule.format("fit_valid", "fit")
                            + "use rule fit as refit with:\n    threads: 1\n") == []
    assert misnamed_scripts(rule.format("place_users", "explore_place")) == [
        "explore_place.py: place_users"]
    assert misnamed_scripts(rule.format("fit", "fit") + rule.format("refit", "fit")) == [
        "fit.py: fit, refit"]


def family_strings(text: str, families) -> list[str]:
    """``line: string`` of every string literal (or constant part of an f-string) of Snakemake
    source ``text`` whose value is one of ``families``."""
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.STRING:
            for node in ast.walk(ast.parse(tok.string.strip(), mode="eval")):
                if isinstance(node, ast.Constant) and node.value in families:
                    found.append(f"{tok.start[0]}: {tok.string}")
    return found


def test_rules_never_name_a_family():
    from tastemap.models.registry import FAMILIES

    for path in WORKFLOW_FILES:
        found = family_strings(path.read_text(), set(FAMILIES))
        assert found == [], f"{path.relative_to(REPO)} names families (declare it on the class)"
    # the check itself: a family as a string is found, a path or docstring mentioning one is not
    text = 'rule x:\n    """mf runs"""\n    input:\n        R(L.HISTORY, model="mf"),\n' \
           '    log:\n        LOG("topics/lda/sweep"),\n        f"{seed}/als",\n'
    assert family_strings(text, {"mf", "lda", "als"}) == ['4: "mf"']


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


#: the longest a library module may be (docs/architecture.md, "The library, grouped by stage")
MAX_MODULE_LINES = 500


def test_no_long_library_module():
    long = {str(p.relative_to(REPO)): n for p in sorted((REPO / "src").rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}, f"split these modules (at most {MAX_MODULE_LINES} lines): {long}"


def test_nothing_points_outside_the_repository():
    # the names are spelled in pieces so that this file does not match itself
    outside = ["DESI" + "GN", "../sha" + "red"]
    proc = subprocess.run(["git", "grep", "-n", "-F", "-e", outside[0], "-e", outside[1]],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # 1: no match (0: found, 128: error)
