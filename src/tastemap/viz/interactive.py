"""Interactive maps: one self-contained HTML file per 2-D map (Bokeh, WebGL).

Every point can be hovered to read its name (artist, ``"artist - track"`` or user), the view
zooms (wheel, box) and pans, a legend entry hides its group (click), and a menu switches the
colouring between the ones given (best clustering, other clustering runs, LDA topic, planted
genre of simulated data). The file inlines BokehJS (no network at view time) and stores the
coordinates, names and colourings once; each legend group is a view (``GroupFilter``) of that
one data source, so a colouring costs one small integer column, not a copy of the points.

Why Bokeh (measured in ``docs/explore.md``): at 20,000 points the file is 1.0 MB (2.6 MB with
the scripts not packed, see :func:`write_map`) against 6.0 MB for plotly's ``scattergl`` (BokehJS
with its WebGL and widget bundles inlines 1.8 MB, plotly.js 4.8 MB) and opens as fast; hover
values are inserted as text, never as HTML; and it falls back to canvas where WebGL is missing
(plotly's ``scattergl`` then draws nothing).

Names are data, never markup: they go into the data source and are shown by the hover tool as
text (tested in a real browser, ``tests/test_browser.py``); legends and titles are drawn on the
canvas.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: groups of a colouring with their own colour and legend entry (largest first); the rest share
#: one "other" entry
MAX_GROUPS = 20
#: tooltips shown at once when points overlap
MAX_TOOLTIPS = 5
NOISE_COLOUR = "#c8c8c8"
OTHER_COLOUR = "#7f7f7f"


@dataclass
class Colouring:
    """One way to colour the points of a map.

    ``values`` (n,) int group of every point, ``-1`` = no group (clustering noise, a name the
    truth table lacks); ``legend`` optional text per group (e.g. a topic's top artists), else
    see :meth:`label`; ``none`` is the legend text of ``-1``.
    """

    name: str
    values: np.ndarray
    legend: dict[int, str] | None = None
    none: str = "none"

    def groups(self) -> tuple[list[int], list[int]]:
        """``(own, rest)``: the groups drawn in their own colour (the ``MAX_GROUPS`` largest,
        in value order) and the smaller ones drawn as "other" (``-1`` in neither).

        >>> Colouring("c", np.array([0, 0, 1, 2, 2, 2, -1])).groups()
        ([0, 1, 2], [])
        """
        values, counts = np.unique(np.asarray(self.values), return_counts=True)
        keep = values >= 0
        values, counts = values[keep], counts[keep]
        order = np.argsort(-counts, kind="stable")
        own = sorted(int(v) for v in values[order[:MAX_GROUPS]])
        rest = sorted(int(v) for v in values[order[MAX_GROUPS:]])
        return own, rest

    def label(self, value: int) -> str:
        """Legend text of a group: ``legend[value]``, else the colouring's name without its
        parenthesis and the value (``"cluster (kmeans_k8)"`` -> ``"cluster 3"``); at most 60
        characters."""
        text = (self.legend or {}).get(value, f"{self.name.split(' (')[0]} {value}")
        return text if len(text) <= 60 else text[:59] + "…"


def palette(n: int) -> list[str]:
    """``n`` distinguishable colours (hex): Category10 / Category20, Turbo samples beyond.

    >>> palette(2)
    ['#1f77b4', '#ff7f0e']
    """
    from bokeh.palettes import Category10, Category20, Turbo256

    if n <= 10:
        return list(Category10[10][:n])
    if n <= 20:
        return list(Category20[20][:n])
    return [Turbo256[int(i)] for i in np.linspace(0, 255, n)]


def _group_renderers(fig, source, column: int, colouring: Colouring, size: float,
                     visible: bool) -> list:
    """One scatter renderer per group of ``colouring`` (a view of the shared ``source``), each
    with its legend label; returns ``[(label, renderer), ...]``."""
    from bokeh.models import CDSView, GroupFilter, InversionFilter, Scatter, UnionFilter

    own, rest = colouring.groups()
    field = f"c{column}"
    views = [(colouring.label(v), colour, GroupFilter(column_name=field, group=v))
             for v, colour in zip(own, palette(len(own)))]
    if rest:
        known = [GroupFilter(column_name=field, group=v) for v in own + [-1]]
        views.append((f"other ({len(rest)} groups)", OTHER_COLOUR,
                      InversionFilter(operand=UnionFilter(operands=known))))
    if (np.asarray(colouring.values) < 0).any():
        views.append((colouring.none, NOISE_COLOUR, GroupFilter(column_name=field, group=-1)))
    out = []
    for label, colour, flt in views:
        # one Scatter model per renderer: fig.scatter would add explicit nonselection and muted
        # copies of it, which this map never shows (nothing is selected; legends hide, not
        # mute), and a map holds hundreds of renderers (docs/benchmarks.md, "Maps")
        glyph = Scatter(x="x", y="y", size=size, fill_color=colour, fill_alpha=0.75,
                        line_color=colour, line_alpha=0.75, line_width=0)
        r = fig.add_glyph(source, glyph, view=CDSView(filter=flt), visible=visible)
        out.append((label, r))
    return out


def _point_size(n: int) -> float:
    """Marker diameter in screen pixels: 3 at 20,000 points, up to 10 for small maps."""
    return float(np.clip(80 / np.sqrt(max(n, 1)), 3.0, 10.0))


def map_layout(x, y, names, colourings: list[Colouring], *, title: str, xlabel: str,
               ylabel: str, kind: str = "name", width: int = 950, height: int = 850):
    """The Bokeh layout of a map: a colouring menu above a WebGL scatter plot.

    ``x``, ``y``, ``names`` (n,); ``colourings`` at least one, each with (n,) values; ``kind``
    is the hover label of the name (``"artist"``, ``"user"``...). The data source is named
    ``"points"`` (columns ``x, y, name, c0, c1, ...``).
    """
    from bokeh.layouts import column
    from bokeh.models import ColumnDataSource, CustomJS, HoverTool, Legend, Select
    from bokeh.plotting import figure

    if not colourings:
        raise ValueError("a map needs at least one colouring")
    n = len(names)
    data = {"x": np.asarray(x, np.float32), "y": np.asarray(y, np.float32),
            "name": [str(s) for s in names]}
    for i, c in enumerate(colourings):
        if len(c.values) != n:
            raise ValueError(f"colouring {c.name!r} has {len(c.values)} values for {n} points")
        data[f"c{i}"] = np.asarray(c.values, dtype=np.int32)
    source = ColumnDataSource(data, name="points")
    fig = figure(name="map", title=title, x_axis_label=xlabel, y_axis_label=ylabel, width=width,
                 height=height, output_backend="webgl", match_aspect=False,
                 tools="pan,wheel_zoom,box_zoom,reset,save", active_scroll="wheel_zoom")
    groups, legends, every = {}, [], []
    for i, c in enumerate(colourings):
        items = _group_renderers(fig, source, i, c, _point_size(n), visible=i == 0)
        groups[c.name] = [r for _, r in items]
        every += groups[c.name]
        legend = Legend(items=[(label, [r]) for label, r in items], title=c.name,
                        click_policy="hide", visible=i == 0, label_text_font_size="8pt")
        fig.add_layout(legend, "right")
        legends.append(legend)
    tooltips = [(kind, "@name")] + [(c.name, f"@c{i}") for i, c in enumerate(colourings)]
    fig.add_tools(HoverTool(renderers=every, tooltips=tooltips, limit=MAX_TOOLTIPS))
    menu = Select(title="colour by", options=[c.name for c in colourings],
                  value=colourings[0].name, name="colouring", width=300)
    menu.js_on_change("value", CustomJS(args={"groups": groups, "legends": legends}, code="""
        const names = Object.keys(groups);
        names.forEach((name, i) => {
            const on = name === cb_obj.value;
            groups[name].forEach(r => { r.visible = on; });
            legends[i].visible = on;
        });"""))
    return column(menu, fig)


#: BokehJS bundles a map needs: the library, its WebGL backend, the widgets (the menu)
BUNDLES = ["bokeh", "bokeh-gl", "bokeh-widgets"]

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>body {{ margin: 0.5em; font-family: sans-serif; }}</style>
</head>
<body>
{div}
<noscript>This map needs JavaScript.</noscript>
<script>
// BokehJS and the map, gzip-compressed and base64-encoded: unpacked and run in order, offline.
(async () => {{
  const parts = [{parts}];
  for (const part of parts) {{
    const bytes = Uint8Array.from(atob(part), c => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const script = document.createElement("script");
    script.textContent = await new Response(stream).text();
    document.body.appendChild(script);
  }}
}})().catch(error => {{
  document.body.insertAdjacentText("beforeend", "This map could not be drawn: " + error);
  console.error(error);
}});
</script>
</body>
</html>
"""


def page_parts(layout) -> tuple[str, list[str]]:
    """The ``<div>`` a Bokeh layout renders into and the scripts that draw it, in order: the
    BokehJS bundles (:data:`BUNDLES`), then the map's own script holding its document."""
    from bokeh.embed import components
    from bokeh.resources import Resources

    script, div = components(layout)
    body = script.strip().removeprefix("<script>").removeprefix('<script type="text/javascript">')
    return div, Resources(mode="inline", components=BUNDLES).js_raw + [
        body.removesuffix("</script>")]


def write_map(path: str | Path, x, y, names, colourings: list[Colouring], *, title: str,
              xlabel: str, ylabel: str, kind: str = "name") -> int:
    """Write the map of :func:`map_layout` as one self-contained HTML file; returns its size in
    bytes.

    Everything is inlined (no network at view time). The scripts (BokehJS, 1.8 MB, and the map)
    are stored gzip-compressed and base64-encoded, and unpacked by the browser
    (``DecompressionStream``: Chrome/Edge 80+, Firefox 113+, Safari 16.4+): a 20,000-point map
    takes 1.1 MB instead of 2.6 MB. It must stay small because the one-page Snakemake report
    embeds each map as a ``data:`` URL, and Chromium refuses URLs over 2 MiB (the iframe stays
    blank): an uncompressed map never fits.
    """
    import base64
    import gzip
    import html

    div, scripts = page_parts(map_layout(x, y, names, colourings, title=title, xlabel=xlabel,
                                         ylabel=ylabel, kind=kind))
    parts = ",\n    ".join(
        '"' + base64.b64encode(gzip.compress(s.encode("utf-8"), 9, mtime=0)).decode("ascii") + '"'
        for s in scripts)
    page = PAGE.format(title=html.escape(title), div=div, parts=parts)
    Path(path).write_text(page, encoding="utf-8")
    return Path(path).stat().st_size


# ---- the colourings a map offers ------------------------------------------------------------


def cluster_colourings(table: pd.DataFrame, runs: list[str]) -> list[Colouring]:
    """The best clustering of an explore map (column ``cluster``) first, then every clustering
    run (columns ``runs``, e.g. ``kmeans_k8``, ``hdbscan``) not identical to it.

    >>> t = pd.DataFrame({"cluster": [0, 1, -1], "kmeans_k2": [0, 1, 1], "hdbscan": [0, 1, -1]})
    >>> [c.name for c in cluster_colourings(t, ["kmeans_k2", "hdbscan"])]
    ['cluster (best: hdbscan)', 'cluster (kmeans_k2)']
    """
    best = table["cluster"].to_numpy()
    same = [r for r in runs if np.array_equal(table[r].to_numpy(), best)]
    first = Colouring(f"cluster (best: {same[0]})" if same else "cluster (best)", best,
                      none="noise")
    return [first] + [Colouring(f"cluster ({r})", table[r].to_numpy(), none="noise")
                      for r in runs if r not in same[:1]]


def genre_colouring(keys, truth: pd.DataFrame, kind: str) -> Colouring:
    """Planted genre of simulated data: ``keys`` (n,) user names (``kind="user"``) or artist
    names (``kind="artist"``; songs pass their artist), looked up in ``truth.parquet``."""
    from tastemap.explore.cluster import truth_labels

    values = truth_labels(pd.Series(np.asarray(keys, dtype=object)), truth, kind)
    return Colouring("planted genre", values, none="no planted genre")


def embedding_colourings(side: str, keys: np.ndarray, truth: pd.DataFrame | None
                         ) -> list[Colouring]:
    """Colourings of the (n,) points of an embedding map of a factor model (``side`` ``users``
    or ``items``): their planted genre when ``truth`` is given (``keys``: user names, or the
    artist of each item point; an artist's own name for artists), else one plain colouring."""
    if truth is not None:
        return [genre_colouring(keys, truth, "user" if side == "users" else "artist")]
    return [Colouring("all points", np.zeros(len(keys), np.int64), legend={0: side})]


@dataclass
class TopicRun:
    """The dominant LDA topic of every user or item of one topic run: ``dominant`` indexed by
    user_idx or item index; ``legend`` each topic's label."""

    k: int
    dominant: pd.Series
    legend: dict[int, str]


def topic_runs(paths: list[str], side: str, entity: str) -> list[TopicRun]:
    """Read the topic runs (``layout.TOPICS_DIR``) whose files are among ``paths``, by k:
    ``topics.csv`` (legend: each topic's label) and ``user_topics.parquet`` (users:
    ``dominant_topic``) or ``topic_items.parquet`` (items: the topic ``t`` maximising
    p(t | item), proportional to p(item | t) times the topic's share of all plays)."""
    runs: dict[int, dict[str, Path]] = {}
    for path in map(Path, paths):
        m = re.fullmatch(r"k(\d+)", path.parent.parent.name)
        if m:
            runs.setdefault(int(m.group(1)), {})[path.name] = path
    out = []
    for k, files in sorted(runs.items()):
        summary = pd.read_csv(files["topics.csv"]).sort_values("topic")
        if side == "users":
            users = pd.read_parquet(files["user_topics.parquet"],
                                    columns=["user_idx", "dominant_topic"])
            dominant = users.set_index("user_idx")["dominant_topic"]
        else:
            items = pd.read_parquet(files["topic_items.parquet"],
                                    columns=["topic", f"{entity}_idx", "weight"])
            phi = items.pivot(index=f"{entity}_idx", columns="topic", values="weight")
            share = summary.set_index("topic")["share"].reindex(phi.columns).to_numpy()
            dominant = pd.Series((phi.to_numpy() * share[None, :]).argmax(axis=1),
                                 index=phi.index)
        legend = {int(t): f"topic {t}: {label}" for t, label in
                  zip(summary["topic"], summary["label"].astype(str))}
        out.append(TopicRun(k, dominant, legend))
    return out


def topic_colourings(runs: list[TopicRun], idx: np.ndarray) -> list[Colouring]:
    """Dominant topic of the points ``idx`` (user_idx for users, else item indices), one
    colouring per topic run of :func:`topic_runs`; ``-1`` for a point a run does not know."""
    return [Colouring(f"topic (k={run.k})",
                      np.nan_to_num(run.dominant.reindex(idx).to_numpy(), nan=-1).astype(np.int64),
                      legend=run.legend, none="no topic")
            for run in runs]


def explore_colourings(table: pd.DataFrame, side: str, entity: str, topics: list[TopicRun],
                       truth: pd.DataFrame | None) -> list[Colouring]:
    """Every colouring of an explore map: its clusterings (``clusters.parquet``: ``idx, name,
    [artist,] x, y, cluster`` and one column per run), dominant topics (:func:`topic_runs` of
    the map's side), planted genre (songs take their artist's)."""
    runs = [c for c in table.columns if c not in ("idx", "name", "artist", "x", "y", "cluster")]
    out = cluster_colourings(table, runs)
    out += topic_colourings(topics, table["idx"].to_numpy())
    if truth is not None:
        # songs take the planted genre of their artist
        keys = table["artist"] if side == "items" and entity == "song" else table["name"]
        kind = "user" if side == "users" else "artist"
        out.append(genre_colouring(keys, truth, kind))
    return out
