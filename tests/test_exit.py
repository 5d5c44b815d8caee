"""How workflow scripts end their process: tastemap.core.exit.finish (the abort at exit, SIGABRT
``terminate called without an active exception``, in src/tastemap/core/exit.py). The stress test
that counts abnormal exits over hundreds of runs under load is benchmarks/stress_exit.py."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((REPO / "scripts").glob("*.py"))

JOB = """
import atexit, sys, threading, time
import pyarrow as pa, pyarrow.parquet as pq
from tastemap.core import logs
from tastemap.core.exit import finish

out = sys.argv[1]
log = logs.setup(out + "/job.log")
atexit.register(lambda: open(out + "/atexit", "w").close())
def late():
    time.sleep(0.3)
    with open(out + "/thread", "w") as f:
        f.write("joined")
threading.Thread(target=late).start()                          # non-daemon: finish waits for it
left_open = open(out + "/unclosed.txt", "w")                   # never closed: still buffered
left_open.write("x" * 100)
writer = pq.ParquetWriter(out + "/unclosed.parquet", pa.schema([("a", pa.int64())]))
writer.write_table(pa.table({"a": [1, 2, 3]}))                  # never closed: no footer yet
log.info("main done")
finish()
print("not reached", file=sys.stderr)
"""


def run_job(tmp_path: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(JOB), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def test_finish_exits_0_after_what_the_teardown_would_have_done(tmp_path):
    proc = run_job(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "not reached" not in proc.stderr
    assert (tmp_path / "atexit").exists()  # atexit handlers ran
    assert (tmp_path / "thread").read_text() == "joined"  # non-daemon threads were joined
    assert (tmp_path / "unclosed.txt").read_text() == "x" * 100  # a file left open: flushed
    assert pq.read_table(tmp_path / "unclosed.parquet").column("a").to_pylist() == [1, 2, 3]
    log = (tmp_path / "job.log").read_text()  # logging.shutdown flushed the job's log
    assert "main done" in log
    assert "still open at the end of main()" in log and "unclosed.txt" in log
    assert "job.log" not in log.split("still open")[1]  # the log file itself is expected


def test_normal_exit_returns_to_the_interpreter(tmp_path):
    proc = run_job(tmp_path, TASTEMAP_NORMAL_EXIT="1")
    assert proc.returncode == 0, proc.stderr
    assert "not reached" in proc.stderr


def test_finish_returns_when_called_from_an_imported_module(tmp_path):
    """A script's main() called by other code (a notebook, a test) must not end that process."""
    (tmp_path / "imported_script.py").write_text(
        "from tastemap.core.exit import finish\n\ndef main():\n    finish()\n")
    proc = subprocess.run([sys.executable, "-c", "import imported_script; imported_script.main(); "
                           "print('returned')"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "returned", proc.stderr


def last_statement_of_main(path: Path) -> str:
    tree = ast.parse(path.read_text())
    main = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main")
    return ast.unparse(main.body[-1])


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_every_script_ends_main_with_finish(path):
    """Every job process ends through finish() (docs in src/tastemap/core/exit.py); an exception in
    main() does not reach it and the job fails as before."""
    assert last_statement_of_main(path) == "finish()", f"{path.name}: main() must end with finish()"


def test_flushing_skips_dead_weak_proxies():
    """A dead weakref.proxy among the live objects (one ended a Last.fm-360K-sized explore job
    with ReferenceError): the scan for open outputs passes over it."""
    import weakref

    from tastemap.core.exit import _flush_open_outputs

    class Target:
        pass

    target = Target()
    holder = [weakref.proxy(target)]  # a gc-tracked container keeps the proxy listed
    del target
    with pytest.raises(ReferenceError):
        holder[0].__class__  # noqa: B018 - dead
    assert _flush_open_outputs() == []
