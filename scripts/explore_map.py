"""The scatter map of one projection, coloured by its best clustering, with n_labels random
points labelled (adjustText); drawn by explore_project.py. The interactive version of every map
is drawn by explore_html.py (rule explore_html)."""
import time

import matplotlib.pyplot as plt

from tastemap.explore import map_title
from tastemap.plots import scatter_map


def draw_map(table, entity, side, method, seed, plots, path, log):
    """``table``: the map's clusters table (x, y, cluster, name, ...); ``path``: the PNG."""
    start = time.perf_counter()
    title = map_title(entity, side, method, int(seed), len(table))
    fig = scatter_map(
        table["x"].to_numpy(), table["y"].to_numpy(), table["cluster"].to_numpy(),
        table["name"].to_numpy(), title=title,
        xlabel=f"{method} 1", ylabel=f"{method} 2", figsize=plots["figsize"], dpi=plots["dpi"],
        n_labels=plots["n_labels"], seed=int(seed))
    fig.savefig(path)
    plt.close(fig)
    log.info("map of %d points, %d labels, drawn in %.1f s", len(table), plots["n_labels"],
             time.perf_counter() - start)
