"""A person's view of the outputs, in a real browser: headless Chromium (Debian's ``chromium``
package, driven by Playwright) opens the interactive HTML maps and the HTML report.

For every page: no console error, no uncaught exception, no dialog (an ``alert`` from an
injected name), no request to the network; a screenshot shows the points (the pixels change
when the points are hidden); the number of points and a hover label are read back.

Two runs: the shared tiny run (its report and an explore map), and a small run whose user and
artist names are markup and mathtext (``<img src=x onerror=alert(1)>``, ``<b>bold</b>``,
``&amp;``, ``$...$``): they must show as literal text in the PNG labels (the jobs draw them:
mathtext would fail), the HTML maps and the report, and inject nothing.

Skipped, with one line saying how to enable them, where Chromium or Playwright is missing: the
tests never install anything; ``.ci/browser-setup.sh`` (as root; ``.ci/run`` runs it, and
``.ci/browser-setup.sh teardown`` afterwards) installs Debian's chromium. Screenshots are kept
under ``$TASTEMAP_SCREENSHOTS`` when set (else pytest's temporary directory).
"""
from __future__ import annotations

import importlib.util
import io
import os
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import results, run_snakemake, tiny_run_lock

from tastemap.core import layout as L

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: known to work as root in containers; the profile is a fresh temporary one per launch
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EVIL = ["<img src=x onerror=alert(1)>", "<b>bold</b>", "&amp;", "Ke$ha $\\notacommand$"]
READY = """() => {
    if (!window.Bokeh || Bokeh.documents.length === 0) return false;
    const fig = Bokeh.documents[0].get_model_by_name("map");
    return fig !== null && Bokeh.index.find_one(fig) !== null;
}"""


def _why_no_browser() -> str | None:
    """Why the tests cannot run here (one line, saying how to enable them), or None."""
    if not Path(CHROMIUM).exists():
        return (f"browser tests need Chromium at {CHROMIUM}: run `.ci/browser-setup.sh` as root "
                "(or `apt-get install chromium`; `.ci/browser-setup.sh teardown` removes it)")
    if importlib.util.find_spec("playwright") is None:
        return "browser tests need the playwright package: .venv/bin/pip install -e '.[test]'"
    return None


# A mark, not a skip in the browser fixture: a mark skips before any fixture is set up, and the
# session's tiny run (a fixture of the last test, set up before the module-scoped browser)
# would otherwise run the whole workflow only to skip.
NO_BROWSER = _why_no_browser()
pytestmark = [pytest.mark.workflow,
              pytest.mark.skipif(NO_BROWSER is not None, reason=NO_BROWSER or "")]


# ---- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    where = os.environ.get("TASTEMAP_SCREENSHOTS")
    path = Path(where) if where else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


class Page:
    """A browser tab that records what a person would notice going wrong."""

    def __init__(self, browser, width: int = 1300, height: int = 1000):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("dialog", self._dialog)
        self.page.on("request", lambda r: self.requests.append(r.url))

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def network(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:", "blob:", "about:"))]

    def assert_clean(self):
        assert self.dialogs == [], f"a dialog opened (injected script?): {self.dialogs}"
        assert self.errors == [], f"console errors: {self.errors}"
        assert self.network() == [], f"requests to the network: {self.network()}"
        assert self.page.locator("img[src='x']").count() == 0  # also inside shadow roots


def coloured_pixels(png: bytes, box: dict | None = None) -> int:
    """Pixels of a screenshot whose colour is saturated (points; not white, grey or black)."""
    from PIL import Image

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    if box is not None:
        image = image[int(box["y"]): int(box["y"] + box["height"]),
                      int(box["x"]): int(box["x"] + box["width"])]
    return int(((image.max(axis=2) - image.min(axis=2)) > 60).sum())


# ---- one interactive map, as a person uses it -------------------------------------------------


def _map_state(frame) -> dict:
    """Points, colourings and the screen box of the plot frame, read from BokehJS."""
    return frame.evaluate("""() => {
        const doc = Bokeh.documents[0];
        const fig = doc.get_model_by_name("map");
        const view = Bokeh.index.find_one(fig);
        const src = doc.get_model_by_name("points");
        const canvas = view.canvas_view.el.getBoundingClientRect();
        const bbox = view.frame.bbox;
        return {n: src.data.x.length, names: Array.from(src.data.name),
                colourings: doc.get_model_by_name("colouring").options,
                visible: fig.renderers.filter(r => r.visible).length,
                renderers: fig.renderers.length,
                box: {x: canvas.left + bbox.left, y: canvas.top + bbox.top,
                      width: bbox.width, height: bbox.height}};
    }""")


def _screen_xy(frame, i: int) -> tuple[float, float]:
    """Screen position (in the frame's page) of point ``i``."""
    return tuple(frame.evaluate("""(i) => {
        const doc = Bokeh.documents[0];
        const view = Bokeh.index.find_one(doc.get_model_by_name("map"));
        const src = doc.get_model_by_name("points");
        const r = view.canvas_view.el.getBoundingClientRect();
        return [r.left + view.frame.x_scale.compute(src.data.x[i]),
                r.top + view.frame.y_scale.compute(src.data.y[i])];
    }""", i))


def _hide_points(frame, hide: bool) -> None:
    """Hide every renderer (remembering which were visible), or restore them."""
    frame.evaluate("""(hide) => {
        const fig = Bokeh.documents[0].get_model_by_name("map");
        if (hide) { window._was = fig.renderers.map(r => r.visible);
                    fig.renderers.forEach(r => { r.visible = false; }); }
        else fig.renderers.forEach((r, i) => { r.visible = window._was[i]; });
    }""", hide)


def check_map(tab: Page, frame, names: list[str], shots: Path, shot: str,
              offset=(0.0, 0.0)) -> dict:
    """What a person does with one map: look, hover the points called ``names``, zoom.
    ``frame`` is the page or the iframe that holds the map, ``offset`` that iframe's position in
    the page. Returns the map's state (points, names, colourings)."""
    frame.wait_for_function(READY, timeout=120_000)
    frame.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    state = _map_state(frame)
    box = {**state["box"], "x": state["box"]["x"] + offset[0], "y": state["box"]["y"] + offset[1]}
    # 1. the points are drawn: hiding them takes coloured pixels away from the plot frame
    shown = tab.page.screenshot(path=str(shots / f"{shot}.png"))
    _hide_points(frame, True)
    tab.page.wait_for_timeout(500)
    hidden = coloured_pixels(tab.page.screenshot(), box)
    _hide_points(frame, False)
    drawn = coloured_pixels(shown, box)
    assert drawn > hidden + min(state["n"], 100), (drawn, hidden, state["n"])
    # 2. hover the points: each name shows, as text, in the tooltip
    for i, name in enumerate(names):
        x, y = _screen_xy(frame, state["names"].index(name))
        tab.page.mouse.move(x + offset[0], y + offset[1])
        frame.get_by_text(name, exact=True).first.wait_for(state="visible", timeout=30_000)
        if i == 0:
            tab.page.screenshot(path=str(shots / f"{shot}-hover.png"))
    # 3. the mouse wheel zooms in
    span = ("() => { const f = Bokeh.documents[0].get_model_by_name('map');"
            " return f.x_range.end - f.x_range.start; }")
    before = frame.evaluate(span)
    tab.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tab.page.mouse.wheel(0, -400)
    frame.wait_for_function(f"() => ({span})() < {before} * 0.95", timeout=10_000)
    frame.evaluate("() => Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('map'))"
                   ".reset()")  # the reset tool: back to the whole map
    frame.wait_for_function(f"() => Math.abs(({span})() - {before}) < 1e-9 * Math.abs({before})"
                            f" + 1e-12", timeout=10_000)
    return state


def switch_colouring(frame, label: str) -> int:
    """Pick ``label`` in the "colour by" menu; returns how many renderers are then visible."""
    frame.locator("select").select_option(label=label)
    frame.wait_for_function("""(label) => Bokeh.documents[0].get_model_by_name("colouring")
        .value === label""", arg=label)
    return _map_state(frame)["visible"]


# ---- a run whose names are markup ------------------------------------------------------------

#: the interactive maps of the markup run (explore, topics, ALS embedding), relative to its dir
EVIL_MAPS = [f"results/evil/{L.path(template, **wildcards)}" for template, wildcards in [
    (L.MAP_HTML, dict(entity="artist", method="pca", seed=0, side="users")),
    (L.MAP_HTML, dict(entity="artist", method="pca", seed=0, side="items")),
    (L.TOPICS_USERS_MAP_HTML, dict(entity="artist", k=2, seed=0)),
    (L.TOPICS_ITEMS_MAP_HTML, dict(entity="artist", k=2, seed=0)),
    (L.USERS_EMBEDDING_MAP_HTML, dict(entity="artist", model="als", variant="f4", seed=0,
                                      fit="full")),
    (L.ITEMS_EMBEDDING_MAP_HTML, dict(entity="artist", model="als", variant="f4", seed=0,
                                      fit="full")),
]]


def markup_listens(path: Path, seed: int = 0) -> None:
    """40 users x 24 artists in two taste groups; the first users and artists of each group are
    named with markup and mathtext (``EVIL``), the rest plainly. A generic CSV (user, artist,
    plays)."""
    rng = np.random.default_rng(seed)
    artists = [f"{e} ({g})" if g else e for g in (0, 1) for e in EVIL]
    artists += [f"artist {i}" for i in range(24 - len(artists))]
    users = list(EVIL) + [f"listener {i}" for i in range(40 - len(EVIL))]
    group_of_artist = np.arange(len(artists)) % 2
    rows = []
    for u, user in enumerate(users):
        mine = np.flatnonzero(group_of_artist == u % 2)
        for a in rng.choice(mine, size=8, replace=False):
            rows.append((user, artists[a], int(rng.integers(1, 30))))
        rows.append((user, artists[int(rng.integers(len(artists)))], 1))
    pd.DataFrame(rows, columns=["user", "artist", "plays"]).to_csv(path, index=False)


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory) -> Path:
    """The smallest DAG that draws every kind of map of a run with markup names, and its HTML
    report (``snakemake --report report.html`` on the same targets)."""
    work = tmp_path_factory.mktemp("evil_run")
    markup_listens(work / "listens.csv")
    config = work / "evil.yaml"
    config.write_text(textwrap.dedent(f"""\
        dataset: evil
        seeds: [0]
        input:
          format: generic
          path: {work / 'listens.csv'}
          generic: {{columns: {{user: user, artist: artist, plays: plays}}}}
        entities: [artist]
        plots: {{figsize: [6, 6], dpi: 60, n_labels: 40}}
        explore: {{methods: [pca], cluster: {{algorithms: [kmeans], k: [2, 3]}}}}
        topics: {{k: [2]}}
        models: {{als: {{factors: [4]}}, maps: {{models: [als]}}}}
        """))
    run_snakemake(work, *EVIL_MAPS, configfile=config)
    run_snakemake(work, "--report", str(work / "report.html"), *EVIL_MAPS, configfile=config)
    return work


def test_markup_names_are_text_in_every_map(browser, evil_run, shots):
    for rel in EVIL_MAPS:
        tab = Page(browser)
        tab.page.goto((evil_run / rel).as_uri())
        shot = rel.replace("results/evil/", "evil-").replace("/", "-").removesuffix(".html")
        state = check_map(tab, tab.page, EVIL, shots, shot)  # every name hovered, literally
        users = "users" in rel or rel.endswith("k2/seed0/map.html")
        assert state["n"] == (40 if users else 24), (rel, state["n"])
        assert tab.page.locator("b", has_text="bold").count() == 0
        assert "planted genre" not in state["colourings"]  # real (generic) data has no truth
        if "explore" in rel:
            assert state["colourings"][0].startswith("cluster (best")
            assert "topic (k=2)" in state["colourings"]
            visible = switch_colouring(tab.page, "topic (k=2)")
            assert 1 <= visible <= 3 < state["renderers"]  # 2 topics (+ none)
        tab.assert_clean()
        tab.page.close()



# ---- the HTML report ---------------------------------------------------------------------------


def open_in_report(tab: Page, report: Path, path: list[str], row: list[str]):
    """Open the one-page report, follow the links ``path`` (category, subcategory) and click the
    eye of the results row whose cells include every text of ``row``. Returns the frame that
    shows the result and its offset in the page."""
    tab.page.goto(report.as_uri())
    for link in path:
        tab.page.get_by_role("link", name=link, exact=True).click()
    rows = tab.page.locator("tr")
    for text in row:
        rows = rows.filter(has=tab.page.get_by_role("cell", name=text, exact=True))
    assert rows.count() == 1, (path, row, rows.count())
    rows.get_by_role("link").first.click()
    iframe = tab.page.locator("iframe")
    iframe.wait_for(timeout=30_000)
    for _ in range(300):
        frames = [f for f in tab.page.frames if f.url.startswith("data:text/html")]
        if frames:
            box = iframe.bounding_box()
            return frames[0], (box["x"], box["y"])
        tab.page.wait_for_timeout(100)
    blocked = [f.url for f in tab.page.frames if f.url != tab.page.url]
    raise AssertionError(f"the report shows no map: frames {blocked} (Chromium blocks data: URLs "
                         f"over 2 MiB)")


def test_report_shows_markup_names_as_text(browser, evil_run, shots):
    tab = Page(browser, width=1600, height=1100)
    frame, offset = open_in_report(tab, evil_run / "report.html", ["Maps", "artist users"],
                                   ["pca", "interactive map"])
    state = check_map(tab, frame, EVIL[:2], shots, "evil-report-explore-users", offset)
    assert state["n"] == 40
    assert frame.locator("img[src='x']").count() == 0
    tab.assert_clean()
    # the PNG of the same map is in the report too
    tab.page.get_by_role("link", name="artist users", exact=True).click()
    rows = tab.page.locator("tr").filter(has=tab.page.get_by_role("cell", name="map", exact=True))
    rows.get_by_role("link").first.click()
    image = tab.page.locator("img[src^='data:image/png']")
    image.wait_for()
    assert image.evaluate("img => img.naturalWidth") > 100
    tab.page.screenshot(path=str(shots / "evil-report-png.png"))
    tab.assert_clean()
    tab.page.close()


# ---- the shared tiny run -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_report(tiny_run, tmp_path_factory) -> Path:
    """The one-page HTML report of the shared tiny run (written outside it)."""
    report = tmp_path_factory.mktemp("tiny_report") / "report.html"
    with tiny_run_lock(tiny_run):
        run_snakemake(tiny_run, "--report", str(report))
    return report


def test_tiny_run_report_and_maps(browser, tiny_run, tiny_report, shots):
    """The report opens cleanly and shows an explore map; a song map opened as a file offers
    every colouring, and the planted genres recolour it."""
    users = pd.read_parquet(results(tiny_run, L.MAP_CLUSTERS, entity="artist", method="umap",
                                    seed=0, side="users"))
    tab = Page(browser, width=1600, height=1100)
    frame, offset = open_in_report(tab, tiny_report, ["Maps", "artist users"],
                                   ["umap", "interactive map"])
    state = check_map(tab, frame, [str(users["name"].iloc[0])], shots, "tiny-report-umap-users",
                      offset)
    assert state["n"] == len(users) and state["names"] == users["name"].astype(str).tolist()
    tab.assert_clean()
    tab.page.close()

    song_items = dict(entity="song", method="tsne", seed=0, side="items")
    songs = pd.read_parquet(results(tiny_run, L.MAP_CLUSTERS, **song_items))
    tab = Page(browser)
    tab.page.goto(results(tiny_run, L.MAP_HTML, **song_items).as_uri())
    state = check_map(tab, tab.page, [str(songs["name"].iloc[3])], shots, "tiny-song-tsne-items")
    assert state["n"] == len(songs)
    runs = [c for c in songs.columns if c not in ("idx", "name", "artist", "x", "y", "cluster")]
    assert len(state["colourings"]) == len(runs) + 2 + 1  # clusterings, topics k=2 and 4, genre
    assert state["colourings"][-3:] == ["topic (k=2)", "topic (k=4)", "planted genre"]
    visible = switch_colouring(tab.page, "planted genre")
    assert visible == 4  # tiny.yaml plants 4 genres; every song's artist has one
    tab.page.screenshot(path=str(shots / "tiny-song-tsne-items-genre.png"))
    tab.assert_clean()
    tab.page.close()
