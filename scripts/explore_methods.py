"""Small multiples comparing the projections of one side of one matrix (drawn by
explore_summary.py)."""
import matplotlib.pyplot as plt
import pandas as pd

from tastemap.plots import methods_grid


def draw_methods(methods, cluster_paths, entity, side, seed, plots, path, log):
    panels = []
    for method, cluster_path in zip(methods, cluster_paths):
        t = pd.read_parquet(cluster_path)
        panels.append({"title": f"{method} ({t['cluster'].max() + 1} clusters)", "x": t["x"],
                       "y": t["y"], "clusters": t["cluster"].to_numpy(),
                       "xlabel": f"{method} 1", "ylabel": f"{method} 2"})
    what = "users" if side == "users" else f"{entity}s"
    fig = methods_grid(panels, title=f"{what} of the user x {entity} matrix, seed {seed}\n"
                       "colour = best clustering of each map",
                       figsize=plots["figsize"], dpi=plots["dpi"])
    fig.savefig(path)
    plt.close(fig)
    log.info("%s %s: %d panels", entity, side, len(panels))
