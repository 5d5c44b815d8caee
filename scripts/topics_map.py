"""Users and items placed by their topic mixtures (UMAP, Hellinger, when k > 2), coloured by
dominant topic, with randomly chosen labels, as PNG and interactive HTML (drawn by
topics_lda.py)."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tastemap import interactive, plots, topics


def draw_maps(model, plays, summary, user_table, items, item_table_path, entity, k, seed, p,
              paths, truth, log):
    """The users and items maps of a fitted LDA ``model`` (fit on ``plays``, users x items) into
    ``paths`` = (users png, items png, users html, items html); at most ``p.max_points`` points
    each (a seeded sample); ``truth``: planted genres (simulated data) or None."""
    labels = summary.sort_values("topic")["label"].tolist()
    names = topics.item_names(items, entity, model.n_items, item_table_path)
    theta = user_table[[f"topic_{t}" for t in range(k)]].to_numpy()
    item_mix = topics.item_topic_matrix(model.lda_)
    umap_opts = dict(n_neighbors=int(p.umap["n_neighbors"]), min_dist=float(p.umap["min_dist"]))
    users = user_table["user"].to_numpy(object)
    # (side, mixtures, names, activity, png, html, hover label, truth kind, truth keys: songs
    # take their artist's genre)
    sides = [
        ("users", theta, users, np.diff(plays.indptr), paths[0], paths[2], "user", "user", users),
        (f"{entity}s", item_mix, names, np.bincount(plays.indices, minlength=model.n_items),
         paths[1], paths[3], entity, "artist",
         items.sort_values(f"{entity}_idx")["artist"].to_numpy(object)),
    ]
    for side, mix, point_names, activity, png, html, kind, truth_kind, keys in sides:
        rows, coords = topics.topic_coords(mix, seed, activity=np.log10(1 + activity),
                                           max_points=p.max_points, **umap_opts)
        log.info("map of %d of %d %s in the space of %d topics", len(rows), len(mix), side, k)
        mix, point_names, keys = mix[rows], point_names[rows], keys[rows]
        axes = ("UMAP 1", "UMAP 2") if k > 2 else (
            "p(topic 1)", "log10(1 + items played)" if side == "users" else "log10(1 + listeners)")
        title = f"{len(rows)} {side} in LDA topic space (user x {entity}, k={k}, seed {seed})"
        fig = plots.topic_map(
            coords, mix.argmax(axis=1), point_names, k=k, topic_labels=labels, title=title,
            xlabel=axes[0], ylabel=axes[1], figsize=p.plots["figsize"], dpi=int(p.plots["dpi"]),
            n_labels=int(p.plots["n_labels"]), seed=seed,
        )
        fig.savefig(png)
        plt.close(fig)
        colourings = [interactive.Colouring(
            "dominant topic", mix.argmax(axis=1),
            legend={t: f"topic {t}: {label}" for t, label in enumerate(labels)})]
        if truth is not None:
            colourings.append(interactive.genre_colouring(keys, truth, truth_kind))
        size = interactive.write_map(html, coords[:, 0], coords[:, 1], point_names, colourings,
                                     title=title, xlabel=axes[0], ylabel=axes[1], kind=kind)
        log.info("wrote %s and %s (%.1f MB)", png, html, size / 1e6)


def read_tables(summary_path, user_topics_path, item_table_path):
    return (pd.read_csv(summary_path), pd.read_parquet(user_topics_path),
            pd.read_parquet(item_table_path))
