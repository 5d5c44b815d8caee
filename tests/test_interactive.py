"""Interactive HTML maps (tastemap.viz.interactive) without a browser: self-contained files, names
kept as data, the colourings offered. tests/test_browser.py opens them in Chromium."""
from __future__ import annotations

import base64
import gzip
import html
import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from tastemap.viz.interactive import (
    MAX_GROUPS,
    Colouring,
    cluster_colourings,
    explore_colourings,
    topic_colourings,
    topic_runs,
    write_map,
)

EVIL = ["<img src=x onerror=alert(1)>", "</script><script>alert(2)</script>", "<b>bold</b>",
        "&amp;", "Ke$ha $\\frac{1}{2}$"]


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of every script."""

    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self._in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = False if tag == "script" else self._in_script

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


def _scripts(page: str) -> list[str]:
    """The scripts a map page unpacks and runs, in order (gzip + base64 in the page)."""
    return [gzip.decompress(base64.b64decode(p)).decode()
            for p in re.findall(r'"([A-Za-z0-9+/=]{64,})"', page)]


def _document(page: str) -> dict:
    """The Bokeh document of a map page, as BokehJS reads it (a JS string of HTML-escaped
    JSON in the map's script)."""
    text = re.search(r"const docs_json = '(.*?)';\n", _scripts(page)[-1], re.S).group(1)
    return next(iter(json.loads(html.unescape(text.replace("\\\\", "\\"))).values()))


@pytest.fixture()
def evil_map(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    names = np.array([f"artist {i}" for i in range(n)], dtype=object)
    names[: len(EVIL)] = EVIL
    clusters = rng.integers(-1, 30, n)
    path = tmp_path / "map.html"
    size = write_map(path, rng.normal(size=n), rng.normal(size=n), names,
                     [Colouring("cluster", clusters, none="noise"),
                      Colouring("topic (k=3)", rng.integers(0, 3, n), legend={0: EVIL[0]})],
                     title="a <i>map</i>", xlabel="x", ylabel="y", kind="artist")
    return path, size, names, clusters


def test_map_is_self_contained(evil_map):
    path, size, _, _ = evil_map
    page = path.read_text()
    assert size == path.stat().st_size
    parser = Tags()
    parser.feed(page)
    external = [(t, a) for t, a in parser.tags
                if (t == "script" and "src" in a) or (t == "link" and "href" in a)
                or (t in ("img", "iframe") and "src" in a)]
    assert external == [] and len(parser.scripts) == 1
    scripts = _scripts(page)  # BokehJS (library, WebGL, widgets), log level, the map
    assert len(scripts) == 5 and sum(map(len, scripts[:3])) > 1_500_000
    assert "Bokeh" in scripts[0] and "embed_items" in scripts[-1]
    # small enough for the data: URL of the one-page report in Chromium (2 MiB, base64 4/3)
    assert size * 4 / 3 < 2 * 2**20 - 100
    assert "<title>a &lt;i&gt;map&lt;/i&gt;</title>" in page


def test_names_are_data_not_markup(evil_map):
    path, _, names, _ = evil_map
    page = path.read_text()
    # nothing of a name reaches the page as markup: no tag of theirs
    parser = Tags()
    parser.feed(page)
    assert not [t for t, a in parser.tags if t in ("img", "b") or a.get("onerror")]
    assert "alert(" not in page  # the page holds the map only compressed
    script = _scripts(page)[-1]  # where the names are: HTML-escaped in a JS string
    assert "<img" not in script and "</script>" not in script and "<b>" not in script
    text = json.dumps(_document(page), ensure_ascii=False)
    for name in EVIL:  # every name is in the document's data, as a JSON string
        assert json.dumps(name, ensure_ascii=False) in text


def test_colourings_share_one_source(evil_map):
    path, _, names, clusters = evil_map
    script = _scripts(path.read_text())[-1]
    assert len(re.findall(r'"name":"ColumnDataSource"', script)) == 1
    own = min(MAX_GROUPS, len(np.unique(clusters[clusters >= 0])))
    # one renderer per own group, "other", noise; and per topic
    assert len(re.findall(r'"name":"GlyphRenderer"', script)) == own + 2 + 3
    assert script.count('"name":"GroupFilter"') >= own + 3


def test_groups_beyond_the_palette_share_other():
    values = np.repeat(np.arange(25), np.arange(1, 26))  # group g has g + 1 points
    own, rest = Colouring("c", values).groups()
    assert own == list(range(5, 25)) and rest == list(range(5))
    assert Colouring("topic", values, legend={3: "x" * 80}).label(3) == "x" * 59 + "…"
    assert Colouring("cluster (kmeans_k8)", values).label(3) == "cluster 3"


def test_explore_colourings_from_the_run_tables(tmp_path):
    table = pd.DataFrame({"idx": [0, 2, 3], "name": ["u0", "u2", "u3"], "x": 0.0, "y": 0.0,
                          "cluster": [1, 0, -1], "kmeans_k2": [1, 0, 0], "hdbscan": [1, 0, -1]})
    k3 = tmp_path / "topics/lda/artist/k3/seed0"
    k3.mkdir(parents=True)
    pd.DataFrame({"topic": [0, 1, 2], "share": [0.5, 0.3, 0.2],
                  "label": ["A | B", "C", "<b>D</b>"]}).to_csv(k3 / "topics.csv", index=False)
    pd.DataFrame({"user_idx": [0, 1, 2, 3], "dominant_topic": [2, 0, 1, 1]}).to_parquet(
        k3 / "user_topics.parquet")
    # items: p(item | topic) x share; item 1 is most probable in topic 2 but topic 0 outweighs it
    pd.DataFrame({"topic": [0, 0, 1, 1, 2, 2], "artist_idx": [0, 1, 0, 1, 0, 1],
                  "weight": [0.5, 0.5, 0.9, 0.1, 0.1, 0.9]}).to_parquet(k3 / "topic_items.parquet")
    truth = pd.DataFrame({"kind": ["user", "user", "artist"], "name": ["u0", "u3", "A"],
                          "genre": [4, 5, 6]})
    paths = [str(k3 / f) for f in ("topics.csv", "user_topics.parquet", "topic_items.parquet")]
    out = explore_colourings(table, "users", "artist", topic_runs(paths, "users", "artist"), truth)
    assert [c.name for c in out] == ["cluster (best: hdbscan)", "cluster (kmeans_k2)",
                                     "topic (k=3)", "planted genre"]
    assert out[2].values.tolist() == [2, 1, 1] and out[2].label(2) == "topic 2: <b>D</b>"
    assert out[3].values.tolist() == [4, -1, 5]
    items = topic_colourings(topic_runs(paths, "items", "artist"), np.array([1, 0]))
    assert items[0].values.tolist() == [0, 1]  # 0.5 * 0.5 > 0.9 * 0.2; 0.9 * 0.3 > 0.5 * 0.5
    assert cluster_colourings(table.drop(columns="hdbscan"), ["kmeans_k2"])[0].name == \
        "cluster (best)"


def test_png_labels_show_names_as_text():
    """The static maps draw names as they are: a ``$`` never starts mathtext (``$\\notacommand$``
    would make matplotlib fail to draw), markup is just characters."""
    import io

    from tastemap.viz import maps

    names = np.array(EVIL + ["A$AP $\\notacommand$"], dtype=object)
    coords = np.random.default_rng(1).normal(size=(len(names), 2))
    figures = [
        maps.scatter_map(coords[:, 0], coords[:, 1], np.zeros(len(names), int), names,
                         title="t", xlabel="x", ylabel="y", n_labels=len(names),
                         extra={"x": [0.0], "y": [0.0], "names": ["<b>new</b> $1$"]}),
        maps.topic_map(coords, np.arange(len(names)) % 2, names, k=2, title="t", xlabel="x",
                       ylabel="y", topic_labels=[EVIL[4], "A$AP | $x$"], n_labels=len(names)),
        maps.embedding_map(coords, names, title="t", n_labels=len(names)),
    ]
    expected = set(map(str, names)) | {"<b>new</b> $1$", f"topic 0: {EVIL[4]}",
                                       "topic 1: A$AP | $x$"}
    for fig in figures:
        fig.savefig(io.BytesIO(), format="png")  # mathtext would raise on $\notacommand$
        ax = fig.axes[0]
        legend = ax.get_legend()
        texts = list(ax.texts) + (list(legend.get_texts()) if legend else [])
        shown = set()
        for t in texts:
            text, is_math = t._preprocess_math(t.get_text())  # what matplotlib draws
            assert not is_math, t.get_text()
            shown.add(text)
        for name in map(str, names):  # long names are cut to 30 characters on some maps
            assert name in shown or name[:29] + "…" in shown, name
        assert {t.rstrip("…") for t in shown} <= {e[:29] for e in expected} | expected | {
            "cluster 0", "placed"}
