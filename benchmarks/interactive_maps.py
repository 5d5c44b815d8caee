"""Interactive map candidates at N points: file size, CPU time to write, time until Chromium has
drawn the page (headless, Debian's chromium driven by playwright).

    python benchmarks/interactive_maps.py [--n 20000] [--repeats 3]

Candidates: tastemap's map (Bokeh, WebGL, one data source, a GroupFilter view per group), and
plotly's ``scattergl`` with the same content (one trace, colour arrays switched by a menu),
measured when ``plotly`` is importable (it is not a dependency: install it in a scratch target,
``pip install --target /tmp/cand plotly`` and ``PYTHONPATH=/tmp/cand``). Both files inline their
library (no network at view time). Results: docs/explore.md, "Interactive maps".
"""
from __future__ import annotations

import argparse
import html
import json
import tempfile
import time
from pathlib import Path

import numpy as np

READY = {
    "bokeh": "() => window.Bokeh && Bokeh.documents.length > 0 && [...Bokeh.index].length > 0",
    "plotly": "() => { const d = document.querySelector('.js-plotly-plot');"
              " return d && d._fullLayout && d.querySelector('canvas'); }",
}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def data(n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=n), "y": rng.normal(size=n),
            "names": np.array([f"Artist number {i}" for i in range(n)], dtype=object),
            "colourings": {"cluster": rng.integers(-1, 12, n), "topic": rng.integers(0, 8, n),
                           "genre": rng.integers(0, 5, n)}}


def write_bokeh(d: dict, path: Path) -> None:
    from tastemap.viz.interactive import Colouring, write_map

    write_map(path, d["x"], d["y"], d["names"],
              [Colouring(k, v) for k, v in d["colourings"].items()], title="benchmark",
              xlabel="x", ylabel="y", kind="artist")


def write_plotly(d: dict, path: Path) -> None:
    import plotly.graph_objects as go

    first = next(iter(d["colourings"].values()))
    fig = go.Figure(go.Scattergl(
        x=d["x"], y=d["y"], mode="markers", text=[html.escape(str(s)) for s in d["names"]],
        hovertemplate="%{text}<extra></extra>", marker=dict(size=4, color=first)))
    buttons = [dict(label=k, method="restyle", args=[{"marker.color": [v]}])
               for k, v in d["colourings"].items()]
    fig.update_layout(updatemenus=[dict(buttons=buttons)], width=950, height=850)
    fig.write_html(path, include_plotlyjs=True, full_html=True)


def load_seconds(paths: dict[str, Path], repeats: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {lib: [] for lib in paths}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        for _ in range(repeats):
            for lib, path in paths.items():
                page = browser.new_page(viewport={"width": 1200, "height": 1000})
                start = time.perf_counter()
                page.goto(path.as_uri())
                page.wait_for_function(READY[lib], timeout=120_000)
                page.evaluate("() => new Promise(r => requestAnimationFrame(() => "
                              "requestAnimationFrame(r)))")
                out[lib].append(round(time.perf_counter() - start, 2))
                page.close()
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    d = data(args.n)
    writers = {"bokeh": write_bokeh}
    try:
        import plotly  # noqa: F401

        writers["plotly"] = write_plotly
    except ImportError:
        print("plotly not importable: measuring bokeh only")
    tmp = Path(tempfile.mkdtemp(prefix="interactive-maps-"))
    paths, rows = {}, {}
    for lib, write in writers.items():
        paths[lib] = tmp / f"{lib}.html"
        start = time.process_time()
        write(d, paths[lib])
        rows[lib] = {"n": args.n, "mb": round(paths[lib].stat().st_size / 1e6, 2),
                     "write_cpu_s": round(time.process_time() - start, 2)}
    for lib, times in load_seconds(paths, args.repeats).items():
        rows[lib]["load_s"] = times
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
