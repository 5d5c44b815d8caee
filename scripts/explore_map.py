"""The scatter map of one projection, coloured by its best clustering, with n_labels random
points labelled (adjustText), and the same map as an interactive HTML file (hover names, zoom,
colour by any clustering run, topic or planted genre); drawn by explore_project.py and
explore_svd.py's callers."""
import time

import matplotlib.pyplot as plt

from tastemap.explore import map_title
from tastemap.interactive import explore_colourings, write_map
from tastemap.plots import scatter_map


def draw_map(table, entity, side, method, seed, plots, paths, truth, topic_paths, log):
    """``table``: the map's clusters table (x, y, cluster, name, ...); ``paths``: (png, html);
    ``truth``: planted genres or None; ``topic_paths``: LDA tables for topic colourings."""
    start = time.perf_counter()
    title = map_title(entity, side, method, int(seed), len(table))
    fig = scatter_map(
        table["x"].to_numpy(), table["y"].to_numpy(), table["cluster"].to_numpy(),
        table["name"].to_numpy(), title=title,
        xlabel=f"{method} 1", ylabel=f"{method} 2", figsize=plots["figsize"], dpi=plots["dpi"],
        n_labels=plots["n_labels"], seed=int(seed))
    fig.savefig(paths[0])
    plt.close(fig)
    log.info("map of %d points, %d labels, drawn in %.1f s", len(table), plots["n_labels"],
             time.perf_counter() - start)
    start = time.perf_counter()
    colourings = explore_colourings(table, side, entity, list(topic_paths), truth)
    size = write_map(paths[1], table["x"], table["y"], table["name"], colourings, title=title,
                     xlabel=f"{method} 1", ylabel=f"{method} 2",
                     kind="user" if side == "users" else entity)
    log.info("interactive map (%s): %.1f MB in %.1f s", ", ".join(c.name for c in colourings),
             size / 1e6, time.perf_counter() - start)
