"""Users and items placed by their topic mixtures (UMAP, Hellinger, when k > 2), coloured by
dominant topic, with randomly chosen labels (drawn by topics_lda.py)."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tastemap import plots, topics
from tastemap.jit import cache_umap


def draw_maps(model, summary, user_table, items, item_table_path, entity, k, seed, p, paths, log):
    """The users map and the items map of a fitted LDA ``model`` into ``paths`` (users, items)."""
    if k > 2:
        cache_umap()
    labels = summary.sort_values("topic")["label"].tolist()
    names = topics.item_names(items, entity, model.n_items, item_table_path)
    theta = model.theta_
    item_mix = topics.item_topic_matrix(model.lda_)
    umap_opts = dict(n_neighbors=int(p.umap["n_neighbors"]), min_dist=float(p.umap["min_dist"]))
    seen = model.seen_
    sides = [
        ("users", theta, user_table["user"].to_numpy(object), np.diff(seen.indptr), paths[0]),
        (f"{entity}s", item_mix, names, np.bincount(seen.indices, minlength=model.n_items), paths[1]),
    ]
    for side, mix, point_names, activity, path in sides:
        log.info("map of %d %s in the space of %d topics", len(mix), side, k)
        coords = topics.topic_coords(mix, seed, activity=np.log10(1 + activity), **umap_opts)
        axes = ("UMAP 1", "UMAP 2") if k > 2 else (
            "p(topic 1)", "log10(1 + items played)" if side == "users" else "log10(1 + listeners)")
        fig = plots.topic_map(
            coords, mix.argmax(axis=1), point_names, k=k, topic_labels=labels,
            title=f"{side.capitalize()} in LDA topic space (user x {entity}, k={k}, seed {seed})",
            xlabel=axes[0], ylabel=axes[1], figsize=p.plots["figsize"], dpi=int(p.plots["dpi"]),
            n_labels=int(p.plots["n_labels"]), seed=seed,
        )
        fig.savefig(path)
        plt.close(fig)
        log.info("wrote %s", path)


def read_tables(summary_path, user_topics_path, item_table_path):
    return (pd.read_csv(summary_path), pd.read_parquet(user_topics_path),
            pd.read_parquet(item_table_path))
